"""MLPClassifier and MLPRegressor: scikit-learn's MLP with stochnet's engine."""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from ..uncertainty import decompose_classification, decompose_regression
from ._mlp_base import BaseMLP

_ADDED_PARAMETERS = """
    dropout : float or tuple of float, default=0.0
        Inverted-dropout rate of every hidden layer, or one rate per hidden layer.
        Masks come from the ``"dropout"`` Philox stream; prediction is deterministic.
    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to the inputs during training.
    init : str, tuple, scipy.stats frozen distribution or callable, default="glorot_uniform"
        Weight initialisation (see :mod:`stochnet.init`); the default is
        scikit-learn's scheme.
    l1 : float, default=0.0
        L1 penalty, scaled like ``alpha``: ``l1 * Σ|W| / n_samples`` is added to the loss.
    augment : RandomCrop, GaussianNoise or list of them, default=None
        Data augmentation inside the compiled epoch (see :mod:`stochnet.augment`);
        prediction uses the centre crop.
    prune : float in [0, 1) or None, default=None
        Fraction of weights to remove (biases are never pruned). Pruned weights and
        their optimiser state stay exactly zero; see ``masks_`` and ``sparsity_``.
    prune_method : {"random", "magnitude"}, default="random"
    prune_scope : {"layer", "global"}, default="layer"
        Prune each weight matrix by ``prune``, or rank all weights together.
    prune_at : {"init", "end"}, default="init"
        Prune the initial weights (train the sparse network), or the trained ones
        (then fine-tune with ``warm_start=True``, or use :meth:`prune_weights`).
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train. The CUDA backend is not in this release: ``"cuda"`` raises
        ``RuntimeError`` and ``"auto"`` uses the CPU.
"""


class MLPClassifier(ClassifierMixin, BaseMLP):
    (
        """Multi-layer perceptron classifier: scikit-learn's, compiled, with dropout.

    Every parameter, attribute and method of
    :class:`sklearn.neural_network.MLPClassifier` has the same name, default and
    meaning here (see its documentation); the parameters below are added, and their
    defaults change nothing. ``coefs_`` and ``intercepts_`` are live views into one
    flat parameter vector (``parameters_``).

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose,
    warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction,
    beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As in scikit-learn. ``activation`` also accepts ``"leaky_relu"``, ``"gelu"``
        and ``"softplus"``. ``verbose=2`` adds a progress bar within long epochs.
    """
        + _ADDED_PARAMETERS
        + """
    Attributes
    ----------
    classes_, loss_, best_loss_, loss_curve_, validation_scores_,
    best_validation_score_, t_, coefs_, intercepts_, n_features_in_,
    feature_names_in_, n_iter_, n_layers_, n_outputs_, out_activation_
        As in scikit-learn.
    validation_loss_curve_ : list of float
        Validation loss per epoch, with ``early_stopping=True``.
    masks_ : list of bool arrays or None
        Pruning keep-masks, one per weight matrix (``None`` when not pruned).
    sparsity_ : float
        Fraction of weights pruned.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from stochnet import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """
    )

    def _engine_loss(self):
        return (
            "softmax_cross_entropy" if self.out_activation_ == "softmax" else "binary_cross_entropy"
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
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
        Y = self._label_binarizer.transform(y).astype(X.dtype)
        return X, Y

    def _stratify_labels(self, Y):
        return (
            Y.argmax(1)
            if Y.shape[1] > 1 and self.out_activation_ == "softmax"
            else (Y[:, 0] if Y.shape[1] == 1 else None)
        )

    def _score_encoded(self, X, Y, sample_weight):
        y = self._label_binarizer.inverse_transform(Y)
        return accuracy_score(
            y, self._decode(self._network.predict(X)), sample_weight=sample_weight
        )

    def _decode(self, outputs):
        # LabelBinarizer.inverse_transform's own rules, without its validation overhead.
        y_type = self._label_binarizer.y_type_
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

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``; ``classes`` is required on the first call."""
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic solvers; got {self.solver!r}."
            )
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
        # Multilabel: one binary distribution per label; results are (n, n_labels).
        n_draws, n, k = samples.shape
        binary = np.stack([1 - samples, samples], axis=-1).reshape(n_draws, n * k, 2)
        result = decompose_classification(binary, return_samples)
        result.mean = result.mean[:, 1].reshape(n, k)
        for name in ("total", "aleatoric", "epistemic"):
            setattr(result, name, getattr(result, name).reshape(n, k))
        return result

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    (
        """Multi-layer perceptron regressor: scikit-learn's, compiled, with dropout.

    Every parameter, attribute and method of
    :class:`sklearn.neural_network.MLPRegressor` has the same name, default and
    meaning here; the parameters below are added.

    Parameters
    ----------
    loss : {"squared_error", "poisson", "gaussian_nll"}, default="squared_error"
        ``"gaussian_nll"`` adds a variance head per target (softplus): the network
        predicts a mean and an aleatoric variance, see ``predict(X, return_std=True)``.
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose,
    warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction,
    beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As in scikit-learn.
    """
        + _ADDED_PARAMETERS
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from stochnet import MLPRegressor
    >>> X = np.linspace(-2, 2, 200).reshape(-1, 1)
    >>> reg = MLPRegressor((32,), solver="lbfgs", max_iter=500, random_state=0)
    >>> reg.fit(X, X.ravel() ** 2).score(X, X.ravel() ** 2) > 0.95
    True
    """
    )

    _LOSSES = ("squared_error", "poisson", "gaussian_nll")

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        input_noise=0.0,
        init="glorot_uniform",
        l1=0.0,
        augment=None,
        prune=None,
        prune_method="random",
        prune_scope="layer",
        prune_at="init",
        device="cpu",
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            input_noise=input_noise,
            init=init,
            l1=l1,
            augment=augment,
            prune=prune,
            prune_method=prune_method,
            prune_scope=prune_scope,
            prune_at=prune_at,
            device=device,
        )
        self.loss = loss

    def _engine_loss(self):
        return self.loss

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

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )  # fmt: skip
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
        return r2_score(Y, mean, sample_weight=sample_weight)

    def _split(self, outputs):
        k = self.n_outputs_
        mean = outputs[:, :k]
        var = outputs[:, k:] if self.loss == "gaussian_nll" else None
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

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``."""
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic solvers; got {self.solver!r}."
            )
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
        variances = samples[:, :, k:] if self.loss == "gaussian_nll" else None
        if k == 1:
            means = means[:, :, 0]
            variances = None if variances is None else variances[:, :, 0]
        return decompose_regression(means, variances, return_samples)
