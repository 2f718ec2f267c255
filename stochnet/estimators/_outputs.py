"""What classifiers and regressors add to a network estimator, whatever the network.

Mixed into the MLP and attention estimators ahead of their base class, which supplies
``_validate_Xy``, ``_forward``, ``_mc_outputs``, ``_network`` and the fitting loop.
"""

import numpy as np
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ..uncertainty import decompose_classification, decompose_multilabel, decompose_regression


def _stochastic_solver(estimator):
    """``partial_fit`` exists for the stochastic solvers only (``hasattr`` says so)."""
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic solvers; got {estimator.solver!r}."
        )
    return True


class ClassifierOutputs:
    """Labels, probabilities, MC-dropout uncertainty and ``partial_fit`` of a classifier."""

    def _engine_loss(self):
        return (
            "softmax_cross_entropy" if self.out_activation_ == "softmax" else "binary_cross_entropy"
        )

    def _validate_input(self, X, y, params, incremental, reset):
        X, y = self._validate_Xy(X, y, params, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not params.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if params.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        if reset or not hasattr(self, "out_activation_"):
            multiclass = self._label_binarizer.y_type_ == "multiclass"
            self.out_activation_ = "softmax" if multiclass else "logistic"
        return X, self._one_hot(y, X.dtype)

    def _one_hot(self, y, dtype):
        """``LabelBinarizer.transform`` in ``dtype``; for multiclass labels (all among
        ``classes_``, checked above) directly, 5× faster on 60 000 labels."""
        if self._label_binarizer.y_type_ != "multiclass" or y.ndim != 1:
            return self._label_binarizer.transform(y).astype(dtype)
        Y = np.zeros((y.shape[0], self.classes_.shape[0]), dtype=dtype)
        Y[np.arange(y.shape[0]), np.searchsorted(self.classes_, y)] = 1
        return Y

    def _stratify_labels(self, Y):
        # scikit-learn's rule: stratify only when the encoded targets have one column
        # (binary classification), by that column (its error for a too-small class says
        # 'True').
        return Y > 0.5 if Y.shape[1] == 1 else None

    def _score_encoded(self, X, Y, sample_weight):
        y = self._label_binarizer.inverse_transform(Y)
        return accuracy_score(
            y, self._decode(self._network.predict(X)), sample_weight=sample_weight
        )

    def _decode(self, outputs):
        # LabelBinarizer.inverse_transform's own rules, without its validation overhead.
        y_type = self._label_binarizer.y_type_
        if self.classes_.shape[0] == 1:  # fitted on one class: predict it (scikit-learn)
            return np.repeat(self.classes_, outputs.shape[0])
        if y_type == "binary":
            return self.classes_[(outputs.ravel() > 0.5).astype(np.intp)]
        if y_type == "multiclass":
            return self.classes_[outputs.argmax(axis=1)]
        return self._label_binarizer.inverse_transform(outputs)

    def predict(self, X):
        """Predicted classes (or label-indicator rows for multilabel problems)."""
        return self._decode(self._forward(X))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        p = self._forward(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
            return np.vstack([1 - p, p]).T
        return p

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        p = self.predict_proba(X)
        return np.log(p, out=p)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``; ``classes`` is required on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_uncertainty(self, X, mc_samples=30, random_state=None, return_samples=False):
        """MC-dropout predictive distribution and its uncertainty split.

        Runs ``mc_samples`` forward passes with dropout on (masks from ``random_state``)
        and splits the predictive entropy into expected entropy (aleatoric) and mutual
        information (epistemic). Without dropout, the epistemic part is zero.

        Returns
        -------
        UncertaintyResult
            ``mean`` is ``(n, n_classes)`` probabilities; ``total``, ``aleatoric``,
            ``epistemic`` are ``(n,)`` entropies in nats.
        """
        samples = self._mc_outputs(X, mc_samples, random_state)
        if self.out_activation_ == "softmax":
            return decompose_classification(samples, return_samples)
        if self.n_outputs_ == 1:
            return decompose_classification(
                np.concatenate([1 - samples, samples], axis=2), return_samples
            )
        return decompose_multilabel(samples, return_samples)  # results are (n, n_labels)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class RegressorOutputs:
    """Means, variances (``loss="gaussian_nll"``) and MC-dropout uncertainty of a regressor.

    The concrete class defines ``loss`` in its ``__init__``.
    """

    _LOSSES = ("squared_error", "poisson", "gaussian_nll")

    def _engine_loss(self):
        return self.loss

    def _architecture(self, params):
        # The loss fixes the output activation (and the variance head): part of the network.
        return [*super()._architecture(params), ("loss", self.loss, self._network.loss)]

    def _loss_scale(self):
        # scikit-learn reports the squared error averaged over outputs (its gradient
        # is that of the sum, which the engine uses).
        return 1.0 / self.n_outputs_ if self.loss == "squared_error" else 1.0

    def _check_params(self):
        if not isinstance(self.loss, str) or self.loss not in self._LOSSES:
            raise ValueError(
                f"The 'loss' parameter must be a str among {list(self._LOSSES)}. "
                f"Got {self.loss!r} instead."
            )
        return super()._check_params()

    def _validate_input(self, X, y, params, incremental, reset):
        X, y = self._validate_Xy(X, y, params, reset, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson regression."
            )
        if reset or not hasattr(self, "out_activation_"):
            self.out_activation_ = {"squared_error": "identity", "poisson": "exp"}.get(
                self.loss, "gaussian"
            )
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, Y.astype(X.dtype)

    def _score_encoded(self, X, Y, sample_weight):
        mean = self._network.predict(X)[:, : self.n_outputs_]
        if not np.all(np.isfinite(mean)):  # a diverging fit: NaN, as scikit-learn scores it
            return np.nan
        return r2_score(Y, mean, sample_weight=sample_weight)

    def _split(self, outputs):
        k = self.n_outputs_
        mean = outputs[:, :k]
        var = outputs[:, k:] if self.out_activation_ == "gaussian" else None
        if k == 1:
            mean = mean.ravel()
            var = None if var is None else var.ravel()
        return mean, var

    def predict(self, X, return_std=False):
        """Predicted means; with ``return_std=True`` (``loss="gaussian_nll"`` only),
        also the predicted aleatoric standard deviation."""
        mean, var = self._split(self._forward(X))
        if not return_std:
            return mean
        if var is None:
            raise ValueError("return_std=True needs loss='gaussian_nll' (a variance head).")
        return mean, np.sqrt(var)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_uncertainty(self, X, mc_samples=30, random_state=None, return_samples=False):
        """MC-dropout predictive mean and variance split (law of total variance).

        ``aleatoric`` is the mean predicted variance (zero unless
        ``loss="gaussian_nll"``), ``epistemic`` the variance of the sampled means.

        Returns
        -------
        UncertaintyResult
        """
        samples = self._mc_outputs(X, mc_samples, random_state)
        k = self.n_outputs_
        means = samples[:, :, :k]
        variances = samples[:, :, k:] if self.out_activation_ == "gaussian" else None
        if k == 1:
            means = means[:, :, 0]
            variances = None if variances is None else variances[:, :, 0]
        return decompose_regression(means, variances, return_samples)
