"""BaseMLP: scikit-learn's MLP (a superset) on the shared network-estimator base."""

import dataclasses

import numpy as np
import scipy.sparse
from sklearn.utils.validation import check_is_fitted, validate_data

from ..augment import RandomCrop, parse_augment
from ._network_base import BaseNetworkEstimator
from ._params import mlp_params

#: From this many values on, ``fit`` checks ``X`` for NaN and infinity in parallel.
PARALLEL_CHECK_SIZE = 1 << 20


class BaseMLP(BaseNetworkEstimator):
    """Base class; use :class:`~stochnet.MLPClassifier` or :class:`~stochnet.MLPRegressor`."""

    def __init__(
        self,
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
        checkpoint=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.input_noise = input_noise
        self.init = init
        self.l1 = l1
        self.augment = augment
        self.prune = prune
        self.prune_method = prune_method
        self.prune_scope = prune_scope
        self.prune_at = prune_at
        self.device = device
        self.checkpoint = checkpoint

    # ------------------------------------------------------------------ input
    def _check_params(self):
        return mlp_params(self)

    def _input_layout(self, X, params, reset):
        """With a RandomCrop in ``augment``, images become rows; the layout is their shape."""
        specs = params.augment if isinstance(params.augment, list | tuple) else [params.augment]
        return _flatten_images(X, any(isinstance(s, RandomCrop) for s in specs))

    def _validate_Xy(self, X, y, params, reset, y_numeric=False):
        """scikit-learn's validation of ``(X, y)``: dense or CSR/CSC float ``X``.

        A large C-contiguous float array is checked for NaN and infinity by a parallel
        kernel (scikit-learn's single-threaded sum over ``X`` was 3 % of an epoch over
        60 000 × 784 values); everything else is checked as scikit-learn does.
        """
        large = (
            isinstance(X, np.ndarray)
            and X.dtype in (np.float32, np.float64)
            and X.flags.c_contiguous
            and X.size >= PARALLEL_CHECK_SIZE
        )
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=y_numeric,
            dtype=(np.float64, np.float32),
            reset=reset,
            ensure_all_finite=not large,
        )
        if large:
            from ..engine.checks import has_nonfinite

            if has_nonfinite(X):
                raise ValueError("Input X contains NaN or infinity.")
        return X, y

    def _with_input(self, params, X, layout, first_pass):
        """``augment``'s crop and noise in the parameters, checked against ``X``."""
        crop, noise = parse_augment(params.augment, X.shape[1], layout)
        params = dataclasses.replace(
            params, crop=crop, input_noise=float(np.hypot(params.input_noise, noise))
        )
        sparse = scipy.sparse.issparse(X)
        if crop.active and sparse:
            raise ValueError("augment=RandomCrop needs dense X.")
        if params.device == "cuda" and sparse:
            raise ValueError("device='cuda' trains on dense X only; use device='cpu' for sparse X.")
        if params.solver == "lbfgs" and params.input_noise > 0:
            raise ValueError("augment=GaussianNoise requires solver='sgd' or 'adam'.")
        if sparse and params.input_noise > 0:
            raise ValueError("input_noise would densify sparse X; use dense X or input_noise=0.")
        return params

    def _continue(self, params):
        if params.crop != self._network.crop:
            raise ValueError(
                "augment's RandomCrop changed since the network was built; refit without "
                "warm_start."
            )
        self._network.retune(params.dropout)

    def _network_input(self, X, net, params):
        return X if scipy.sparse.issparse(X) else np.ascontiguousarray(X, dtype=net.dtype)

    # ---------------------------------------------------------------- network
    def _architecture(self, params):
        net = self._network
        return [
            ("hidden_layer_sizes", params.hidden_layer_sizes, tuple(net.layer_sizes[1:-1])),
            ("activation", params.activation, net.activation),
        ]

    def _build_network(self, X, Y, params):
        crop = params.crop
        n_inputs = crop.out_height * crop.out_width * crop.channels if crop.active else X.shape[1]
        layer_units = [n_inputs, *params.hidden_layer_sizes, self._n_outputs_for(Y.shape[1])]
        self.n_layers_ = len(layer_units)
        from ..engine import MLPNetwork  # loads the compiled kernels on first fit

        return MLPNetwork(
            layer_units,
            activation=params.activation,
            loss=self._engine_loss(),
            dropout=params.dropout,
            dtype=X.dtype,
            crop=crop,
        ).initialize(params.init, self._keys["init"])

    # ---------------------------------------------------------------- predict
    def _check_X(self, X):
        if not hasattr(self, "_network"):
            check_is_fitted(self, "_network")
        self._sync_parameters()
        if self._is_plain_input(X):
            return np.ascontiguousarray(X, dtype=self._network.dtype)
        X, _ = _flatten_images(X, self._network.crop.active)
        X = validate_data(
            self, X, reset=False, dtype=(np.float64, np.float32), accept_sparse=["csr", "csc"]
        )
        if scipy.sparse.issparse(X):
            return X
        return np.ascontiguousarray(X, dtype=self._network.dtype)

    def _is_plain_input(self, X):
        """True for a finite, non-empty 2-D float ndarray with the fitted width and no
        feature names to check: what scikit-learn's validation would accept unchanged.

        This skips ~100 µs of generic validation per call, which dominates
        single-row prediction; anything else takes the full path and its errors."""
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in (np.float32, np.float64)
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
            and bool(np.isfinite(X.sum()))
        )


def _flatten_images(X, images):
    """With ``images`` (a RandomCrop model), ``n × H × W (× C)`` images become rows of
    ``n × (H·W·C)`` (a view when possible); returns the rows and the image shape.
    Anything else is left for scikit-learn's validation (which rejects > 2-D)."""
    ndim = getattr(X, "ndim", 2)
    if ndim <= 2 or not images:
        return X, None
    if ndim > 4:
        raise ValueError(f"X must have 2 to 4 dimensions, got {ndim}.")
    X = np.asarray(X)
    return X.reshape(X.shape[0], -1), X.shape[1:]
