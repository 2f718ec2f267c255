"""Leaving stochnet as easily as entering it: a fitted MLP as scikit-learn's, and back.

Both directions copy the weights and the fitted attributes scikit-learn's MLP has; the
parameters the two share keep their values, stochnet's own ones (``dropout``, ``init``,
...) take their defaults on the way in. Prediction is deterministic in both, so the
copies predict the same (to float rounding of the matrix products).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

#: Hidden activations scikit-learn's MLP has.
SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")

#: Fitted attributes of scikit-learn's MLP that carry over as they are (when present).
_ATTRIBUTES = (
    "n_features_in_",
    "feature_names_in_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "n_iter_",
    "t_",
    "validation_scores_",
    "best_validation_score_",
    "classes_",
)


def _sklearn_class(estimator):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from .mlp import MLPClassifier as OurClassifier

    return MLPClassifier if isinstance(estimator, OurClassifier) else MLPRegressor


def _why_not_sklearn(estimator):
    """Why ``estimator`` has no scikit-learn equivalent, or None."""
    if estimator.activation not in SKLEARN_ACTIVATIONS:
        return (
            f"activation={estimator.activation!r}: scikit-learn's MLP has only "
            f"{', '.join(SKLEARN_ACTIVATIONS)}"
        )
    if getattr(estimator, "loss", None) == "gaussian_nll":
        return "loss='gaussian_nll' predicts a variance, which scikit-learn's MLP does not"
    if estimator._network.crop.active:
        return "augment=RandomCrop changes the network's input (scikit-learn's takes X as is)"
    return None


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def to_sklearn(estimator):
    """A fitted scikit-learn MLP with ``estimator``'s weights (see the module)."""
    check_is_fitted(estimator, "_network")
    reason = _why_not_sklearn(estimator)
    if reason is not None:
        raise ValueError(f"{type(estimator).__name__} has no scikit-learn equivalent: {reason}.")
    estimator._sync_parameters()
    cls = _sklearn_class(estimator)
    shared = set(cls().get_params())
    out = cls(**{k: v for k, v in estimator.get_params().items() if k in shared})
    out.coefs_ = [w.copy() for w in estimator.coefs_]
    out.intercepts_ = [b.copy() for b in estimator.intercepts_]
    for name in _ATTRIBUTES:
        if hasattr(estimator, name):
            setattr(out, name, _copy(getattr(estimator, name)))
    if hasattr(estimator, "_label_binarizer"):
        out._label_binarizer = estimator._label_binarizer
    return out


def from_sklearn(cls, estimator):
    """A fitted ``cls`` (stochnet's MLPClassifier or MLPRegressor) with the weights and
    fitted attributes of scikit-learn's fitted ``estimator`` (see the module)."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from ..engine import MLPNetwork
    from ..random import source_keys
    from .mlp import MLPClassifier as OurClassifier

    expected = MLPClassifier if issubclass(cls, OurClassifier) else MLPRegressor
    if type(estimator) is not expected:
        raise TypeError(
            f"{cls.__name__}.from_sklearn takes a fitted sklearn.neural_network."
            f"{expected.__name__}, got {type(estimator).__name__}."
        )
    check_is_fitted(estimator, "coefs_")
    ours = cls()
    shared = set(ours.get_params())
    ours.set_params(**{k: v for k, v in estimator.get_params().items() if k in shared})
    for name in _ATTRIBUTES:
        if hasattr(estimator, name):
            setattr(ours, name, _copy(getattr(estimator, name)))
    if hasattr(estimator, "_label_binarizer"):
        ours._label_binarizer = estimator._label_binarizer
    coefs = estimator.coefs_
    layer_units = [coefs[0].shape[0], *(w.shape[1] for w in coefs)]
    network = MLPNetwork(
        layer_units,
        activation=estimator.activation,
        loss=ours._target.engine_loss(ours),
        dtype=coefs[0].dtype,
    )
    for view, w in zip(
        [*network.coefs, *network.intercepts], [*coefs, *estimator.intercepts_], strict=True
    ):
        view[...] = w
    ours._keys = source_keys(ours.random_state)
    ours._network = network
    ours._trainer = None
    ours.masks_ = None
    ours.sparsity_ = 0.0
    ours._no_improvement_count = 0
    ours._best_theta = network.theta.copy()
    ours._publish()
    return ours


class SklearnInterop:
    """``to_sklearn()`` and ``from_sklearn(est)`` of the MLP estimators."""

    def to_sklearn(self):
        """This fitted model as scikit-learn's fitted ``MLPClassifier``/``MLPRegressor``.

        The weights, ``classes_`` and training history are copied; the parameters both
        estimators have keep their values. It predicts as this model does (to float
        rounding).

        Returns
        -------
        sklearn.neural_network.MLPClassifier or MLPRegressor

        Raises
        ------
        ValueError
            For a model scikit-learn's MLP cannot express: another hidden activation
            (``"gelu"``, ...), ``loss="gaussian_nll"`` (a variance head), random crops.
        """
        return to_sklearn(self)

    @classmethod
    def from_sklearn(cls, estimator):
        """A fitted model with the weights and fitted attributes of scikit-learn's
        fitted ``estimator`` (the inverse of :meth:`to_sklearn`). stochnet's own
        parameters keep their defaults; ``partial_fit`` and ``warm_start`` continue from
        these weights.

        Parameters
        ----------
        estimator : fitted sklearn.neural_network.MLPClassifier or MLPRegressor

        Returns
        -------
        estimator of this class
        """
        return from_sklearn(cls, estimator)
