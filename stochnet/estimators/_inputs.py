"""Input adapters: how an estimator's ``X`` reaches its network, and which network.

A network estimator holds one adapter (the class attribute ``_inputs``). The adapter
checks the parameters of its network family, validates ``X`` as scikit-learn would,
turns it into what the network trains and predicts on, and builds the network. It
keeps no state: what a fit learns about the input (``n_features_in_``,
``sequence_shape_``) is a fitted attribute of the estimator, as in scikit-learn, so
model files of every version load unchanged.

- :class:`RowInput` (MLPs): dense or sparse (CSR/CSC) float rows, or images
  ``n × H × W (× C)`` that ``augment``'s ``RandomCrop`` crops inside the epoch.
- :class:`SequenceInput` (attention encoders): tabular rows (every feature a token)
  or sequences ``n × T × d``, with trailing padding.
"""

import dataclasses
import math

import numpy as np
import scipy.sparse
from sklearn.utils.validation import validate_data

from ..augment import RandomCrop, parse_augment
from ..kernels.shared.records import TokenInput
from ._params import attention_params, check_padding_value, mlp_params, padding_is_nan

#: From this many values on, ``fit`` checks ``X`` for NaN and infinity in parallel.
PARALLEL_CHECK_SIZE = 1 << 20


class RowInput:
    """Rows for an MLP (see the module)."""

    def check_params(self, est):
        """The estimator's parameters, checked (an ``MLPParams``)."""
        return mlp_params(est)

    def rows(self, est, X, params, reset):
        """``X`` before validation as rows, and the image shape with a RandomCrop."""
        specs = params.augment if isinstance(params.augment, list | tuple) else [params.augment]
        return _flatten_images(X, any(isinstance(s, RandomCrop) for s in specs))

    def validate(self, est, X, y, params, reset, y_numeric):
        """scikit-learn's validation of ``(X, y)``: dense or CSR/CSC float ``X``.

        A float array with numeric targets that the validation would return unchanged
        skips it (``_is_plain_training_data``: ~0.4 ms of Python per fit, 1 % of a small
        fit); everything else is checked as scikit-learn does. A large C-contiguous
        float array is checked for NaN and infinity by a parallel kernel
        (scikit-learn's single-threaded sum over ``X`` was 3 % of an epoch over
        60 000 × 784 values).
        """
        if _is_plain_training_data(est, X, y, reset):
            _learn_features(est, X, reset)
            return X, y
        large = _checked_in_parallel(X)
        X, y = validate_data(
            est,
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

    def complete(self, est, params, X, layout, first_pass):
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

    def continue_training(self, est, params):
        """Check that a warm start keeps the crop; give the network today's dropout."""
        if params.crop != est._network.crop:
            raise ValueError(
                "augment's RandomCrop changed since the network was built; refit without "
                "warm_start."
            )
        est._network.retune(params.dropout)

    def network_input(self, est, X, net, params):
        """Validated ``X`` as the network trains on it."""
        return X if scipy.sparse.issparse(X) else np.ascontiguousarray(X, dtype=net.dtype)

    @staticmethod
    def take_rows(X, rows):
        """Rows ``rows`` of a network input (a copy)."""
        return X[rows]

    def architecture(self, est, params):
        """``(parameter, value asked, value of the fitted network)`` of each parameter
        that shapes the network."""
        net = est._network
        return [
            ("hidden_layer_sizes", params.hidden_layer_sizes, tuple(net.layer_sizes[1:-1])),
            ("activation", params.activation, net.activation),
        ]

    def build(self, est, X, n_outputs, loss, params):
        """The initialised MLP for validated ``X`` (sets ``n_layers_``)."""
        crop = params.crop
        n_inputs = crop.out_height * crop.out_width * crop.channels if crop.active else X.shape[1]
        layer_units = [n_inputs, *params.hidden_layer_sizes, n_outputs]
        est.n_layers_ = len(layer_units)
        from ..engine import MLPNetwork  # loads the compiled kernels on first fit

        return MLPNetwork(
            layer_units,
            activation=params.activation,
            loss=loss,
            dropout=params.dropout,
            dtype=X.dtype,
            crop=crop,
        ).initialize(params.init, est._keys["init"])

    def prediction_input(self, est, X):
        """``X`` validated against the fitted model, as the network predicts on it."""
        dtype = est._network.dtype
        if _is_plain_rows(est, X):
            return np.ascontiguousarray(X, dtype=dtype)
        X, _ = _flatten_images(X, est._network.crop.active)
        X = validate_data(
            est, X, reset=False, dtype=(np.float64, np.float32), accept_sparse=["csr", "csc"]
        )
        return X if scipy.sparse.issparse(X) else np.ascontiguousarray(X, dtype=dtype)

    def tags(self, est, tags):
        """scikit-learn's input tags: sparse ``X`` accepted."""
        tags.input_tags.sparse = True
        return tags


def _is_plain_rows(est, X):
    """True for a finite, non-empty 2-D float ndarray with the fitted width and no
    feature names to check: what scikit-learn's validation would accept unchanged.

    This skips ~100 µs of generic validation per call, which dominates single-row
    prediction; anything else takes the full path and its errors."""
    return (
        _is_float_rows(X)
        and X.shape[1] == est.n_features_in_
        and not hasattr(est, "feature_names_in_")
        and _is_finite(X)
    )


def _is_plain_training_data(est, X, y, reset):
    """True for rows that ``_is_plain_rows`` would accept (any width when ``reset``)
    and numeric targets, finite, one per row: what scikit-learn's validation of a fit
    would return unchanged. Anything else takes the full path and its errors."""
    if not (
        _is_float_rows(X)
        and type(y) is np.ndarray
        and y.dtype.kind in "biuf"
        and y.ndim in (1, 2)
        and y.shape[0] == X.shape[0]
        and (y.ndim == 1 or y.shape[1] > 0)
    ):
        return False
    if not reset and (
        X.shape[1] != getattr(est, "n_features_in_", None) or hasattr(est, "feature_names_in_")
    ):
        return False
    return _is_finite(X, parallel=True) and (y.dtype.kind != "f" or _is_finite(y))


def _learn_features(est, X, reset):
    """What scikit-learn's validation learns of a plain array on a first fit: its width,
    and that it has no feature names."""
    if reset:
        est.n_features_in_ = X.shape[1]
        if hasattr(est, "feature_names_in_"):
            del est.feature_names_in_


def _is_float_rows(X):
    """A non-empty 2-D float32/float64 ndarray (not a subclass)."""
    return (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in (np.float32, np.float64)
        and X.shape[0] > 0
        and X.shape[1] > 0
    )


def _is_finite(values, parallel=False):
    """True when ``values`` hold no NaN or infinity; False may also mean a sum that
    overflowed (the full validation then looks value by value). ``parallel``: a large
    C-contiguous array is checked by the parallel kernel (as a fit does)."""
    if parallel and _checked_in_parallel(values):
        from ..engine.checks import has_nonfinite

        return not has_nonfinite(values)
    with np.errstate(over="ignore"):
        return bool(np.isfinite(values.sum()))


def _checked_in_parallel(values):
    """Whether ``values`` is a float array large and contiguous enough for the parallel
    NaN and infinity check."""
    return (
        isinstance(values, np.ndarray)
        and values.dtype in (np.float32, np.float64)
        and values.flags.c_contiguous
        and values.size >= PARALLEL_CHECK_SIZE
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


class SequenceInput:
    """Tabular rows or sequences for an attention encoder (see the module).

    The fitted shape is ``sequence_shape_`` ``(T, d)`` and ``_sequences`` says whether
    the model took sequences (one shared embedding and positions) or tabular rows (a
    token per feature).
    """

    def check_params(self, est):
        """The estimator's parameters, checked (an ``AttentionParams``)."""
        return attention_params(est)

    def rows(self, est, X, params, reset):
        """``X`` as rows of ``T·d`` values, and the sequence shape ``(T, d)``.

        3-D input is ``n × T × d``; 2-D input is tabular (``T = n_features``, ``d = 1``)
        unless ``sequence_shape`` is given, or the model was fitted on sequences.
        Anything else goes to scikit-learn's checks.
        """
        return _sequence_rows(est, X, params.sequence_shape, reset)

    def validate(self, est, X, y, params, reset, y_numeric):
        """scikit-learn's validation of ``(X, y)``: dense float ``X``, NaN allowed when
        it marks padding (plain rows skip it, as for MLPs)."""
        nan_padding = padding_is_nan(params.padding_value)
        if not nan_padding and _is_plain_training_data(est, X, y, reset):
            _learn_features(est, X, reset)
            return X, y
        return validate_data(
            est,
            X,
            y,
            multi_output=True,
            y_numeric=y_numeric,
            dtype=(np.float64, np.float32),
            reset=reset,
            ensure_all_finite="allow-nan" if nan_padding else True,
        )

    def complete(self, est, params, X, layout, first_pass):
        """Fix (or check) the sequence shape; remember the padding value predict masks."""
        _finish_shape(est, X, layout, reset=first_pass)
        est._padding_value = params.padding_value
        return params

    def continue_training(self, est, params):
        """Give the network today's dropout rates and attention scale."""
        est._network.retune(
            dropout=params.dropout,
            attention_dropout=params.attention_dropout,
            scale=params.attention_scale,
        )

    def network_input(self, est, X, net, params):
        """A ``TokenInput``: the rows, and sequence lengths from the padding value."""
        return _tokens(est, X, net.dtype, params.padding_value)

    @staticmethod
    def take_rows(X, rows):
        """Rows ``rows`` of a ``TokenInput`` (a copy)."""
        lengths = X.lengths[rows] if X.lengths.shape[0] else X.lengths
        return TokenInput(X.values[rows], lengths)

    def architecture(self, est, params):
        """``(parameter, value asked, value of the fitted network)`` of each parameter
        that shapes the network."""
        config = est._network.config
        names = ("d_model", "n_heads", "n_layers", "d_ff", "activation", "causal", "pooling")
        return [(name, getattr(params, name), config[name]) for name in names]

    def build(self, est, X, n_outputs, loss, params):
        """The initialised encoder for validated ``X`` (sets ``n_layers_``)."""
        from ..engine import AttentionNetwork  # loads the compiled kernels on first fit

        length, width = est.sequence_shape_
        est.n_layers_ = params.n_layers
        return AttentionNetwork(
            length,
            width,
            n_outputs,
            d_model=params.d_model,
            n_heads=params.n_heads,
            n_layers=params.n_layers,
            d_ff=params.d_ff,
            per_token=not est._sequences,
            causal=params.causal,
            pooling=params.pooling,
            scale=params.attention_scale,
            attention_dropout=params.attention_dropout,
            dropout=params.dropout,
            activation=params.activation,
            loss=loss,
            dtype=X.dtype,
        ).initialize(params.init, est._keys["init"])

    def prediction_input(self, est, X):
        """``X`` validated against the fitted model, as the network predicts on it."""
        X, shape = _sequence_rows(est, X, None, reset=False)
        pad = est.padding_value_
        X = validate_data(
            est,
            X,
            reset=False,
            dtype=(np.float64, np.float32),
            ensure_all_finite="allow-nan" if padding_is_nan(pad) else True,
        )
        _finish_shape(est, X, shape, reset=False)
        return _tokens(est, X, est._network.dtype, pad)

    def tags(self, est, tags):
        """scikit-learn's input tags: dense ``X``; NaN when it marks padding."""
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = padding_is_nan(check_padding_value(est.padding_value))
        return tags


def _sequence_rows(est, X, shape, reset):
    """``X`` as rows of ``T·d`` values, and the sequence shape (``shape`` asked for,
    ``X``'s own when 3-D, the fitted one for 2-D input to a model fitted on sequences)."""
    if getattr(X, "ndim", None) == 3 and not hasattr(X, "tocsr"):
        X = np.asarray(X)
        if shape is not None and X.shape[1:] != shape:
            raise ValueError(f"X has sequences of shape {X.shape[1:]} but sequence_shape={shape}.")
        shape = X.shape[1:]
        if not reset and shape != est.sequence_shape_:
            raise ValueError(
                f"X has sequences of shape {shape}, but {type(est).__name__} was fitted "
                f"on sequences of shape {est.sequence_shape_}."
            )
        X = X.reshape(X.shape[0], -1)
    if not reset and shape is None and getattr(est, "_sequences", False):
        shape = est.sequence_shape_
    return X, shape


def _finish_shape(est, X, shape, reset):
    """Fix the fitted ``sequence_shape_`` (``reset``) or check ``X`` against it."""
    n_values = X.shape[1]
    sequences = shape is not None
    if not sequences:
        shape = (n_values, 1)
    elif shape[0] * shape[1] != n_values:
        raise ValueError(
            f"sequence_shape {shape} needs {shape[0] * shape[1]} values per row; X has {n_values}."
        )
    if reset:
        est.sequence_shape_ = tuple(int(s) for s in shape)
        est._sequences = sequences
    elif tuple(shape) != est.sequence_shape_ or sequences != est._sequences:
        raise ValueError(
            f"X has sequences of shape {tuple(shape)}, but {type(est).__name__} was "
            f"fitted on sequences of shape {est.sequence_shape_} (sequence_shape="
            f"{est.sequence_shape!r}; a warm start continues the fitted shape)."
        )


def _tokens(est, X, dtype, pad):
    """A ``TokenInput`` for validated rows ``X``: lengths from the padding value."""
    values = np.ascontiguousarray(X, dtype=dtype)
    length, width = est.sequence_shape_
    if pad is None:
        return TokenInput(values, np.empty(0, dtype=np.int64))
    steps = values.reshape(values.shape[0], length, width)
    padding = np.isnan(steps) if math.isnan(pad) else steps == pad
    real = ~padding.all(axis=2)
    lengths = np.where(real.any(axis=1), length - np.argmax(real[:, ::-1], axis=1), 0)
    inside = np.arange(length)[None, :] < lengths[:, None]
    if not np.all(np.isfinite(steps[inside])):
        raise ValueError(
            "X contains NaN or infinity before the trailing padding (padding_value="
            f"{pad!r} only marks whole tokens at the end of a sequence)."
        )
    return TokenInput(values, lengths.astype(np.int64))
