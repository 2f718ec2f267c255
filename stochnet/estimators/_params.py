"""Validation of estimator hyper-parameters into frozen records.

``fit`` validates the raw attributes once (``_check_params``) and from then on reads the
record: a misspelt field fails loudly, and nothing downstream re-reads an attribute
that ``set_params`` could have changed.
"""

import dataclasses
import math
import numbers
import os

import numpy as np

from .._runtime.device import resolve_device
from .._runtime.files import writable_folder_problem
from .._validation import (
    check_amount,
    check_bool,
    check_int,
    check_option,
    check_real,
    fail,
    is_int,
)
from ..init import check_init
from ..kernels.codes import ACTIVATIONS, NO_CROP, POOLING, CropPlan
from ..random import check_random_state

SOLVERS = ("lbfgs", "sgd", "adam")


@dataclasses.dataclass(frozen=True)
class TrainingParams:
    """The validated parameters every network estimator shares."""

    solver: str
    alpha: float
    batch_size: int | str
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    tol: float
    warm_start: bool
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: float
    max_fun: int
    input_noise: float
    init: object
    l1: float
    prune: float | None
    prune_method: str
    prune_scope: str
    prune_at: str
    device: str
    checkpoint: str | None
    verbose: int
    random_state: object

    @property
    def stochastic(self):
        """Whether the solver trains by epochs of mini-batches (not L-BFGS)."""
        return self.solver != "lbfgs"


@dataclasses.dataclass(frozen=True)
class MLPParams(TrainingParams):
    """An MLP's validated parameters; ``crop`` and ``input_noise`` include ``augment``'s."""

    hidden_layer_sizes: tuple
    activation: str
    dropout: tuple
    augment: object
    crop: CropPlan = NO_CROP


@dataclasses.dataclass(frozen=True)
class AttentionParams(TrainingParams):
    """An attention encoder's validated parameters."""

    d_model: int
    n_heads: int
    n_layers: int
    d_ff: int
    dropout: float
    attention_dropout: float
    pooling: str
    causal: bool
    attention_scale: float | None
    activation: str
    sequence_shape: tuple | None
    padding_value: float | None


# --------------------------------------------------------------- the checks
def check_hidden_layer_sizes(value):
    sizes = [value] if isinstance(value, numbers.Integral) else value
    try:
        sizes = list(sizes)
    except TypeError:
        fail("hidden_layer_sizes", "an int or an array-like of ints", value)
    if not all(is_int(s) for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be integers, got {sizes}.")
    if not all(s > 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    return tuple(int(s) for s in sizes)


def check_dropout(value, n_hidden):
    """A rate per hidden layer from a float or a tuple with one rate per hidden layer."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        rates = (float(value),) * n_hidden
    else:
        try:
            rates = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            fail("dropout", "a float in [0, 1) or a tuple of them (one per hidden layer)", value)
        if len(rates) != n_hidden:
            raise ValueError(
                f"dropout has {len(rates)} rates but the network has {n_hidden} hidden "
                "layers; give one rate per hidden layer or a single float."
            )
    if any(not 0.0 <= r < 1.0 for r in rates):
        fail("dropout", "a float in [0, 1) or a tuple of them (one per hidden layer)", value)
    return rates


def check_n_iter_no_change(value):
    if value == np.inf:
        return np.inf
    return check_int("n_iter_no_change", value)


def check_batch_size(value):
    if value == "auto":
        return value
    return check_int("batch_size", value)


def check_checkpoint(value, solver):
    """``None`` or a path; only for the solvers that train by epochs."""
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike):
        fail("checkpoint", "None or a path (str or os.PathLike)", value)
    if solver == "lbfgs":
        raise ValueError(
            "checkpoint is written at epoch ends, and solver='lbfgs' has none: use "
            "solver='sgd' or 'adam', or checkpoint=None."
        )
    problem = writable_folder_problem(value)
    if problem is not None:
        raise ValueError(
            f"checkpoint={value!r} cannot be written: {problem[1]}. Give a path in an "
            "existing, writable folder."
        )
    return os.fspath(value)


def check_sequence_shape(value):
    if value is None:
        return None
    if not (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(is_int(v) and v > 0 for v in value)
    ):
        raise ValueError(
            f"The 'sequence_shape' parameter must be None or a pair of positive ints "
            f"(T, d). Got {value!r} instead."
        )
    return (int(value[0]), int(value[1]))


def check_padding_value(value):
    if value is None:
        return None
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(
            f"The 'padding_value' parameter must be None or a real number (NaN allowed). "
            f"Got {value!r} instead."
        )
    return float(value)


def _training_fields(est):
    """The checked values of :class:`TrainingParams`' fields."""
    solver = check_option("solver", est.solver, SOLVERS)
    return dict(
        solver=solver,
        alpha=check_real("alpha", est.alpha, 0.0),
        batch_size=check_batch_size(est.batch_size),
        learning_rate=check_option(
            "learning_rate", est.learning_rate, {"constant", "invscaling", "adaptive"}
        ),
        learning_rate_init=check_real(
            "learning_rate_init", est.learning_rate_init, 0.0, None, True
        ),
        power_t=check_real("power_t", est.power_t, 0.0),
        max_iter=check_int("max_iter", est.max_iter),
        shuffle=check_bool("shuffle", est.shuffle),
        tol=check_real("tol", est.tol, 0.0),
        warm_start=check_bool("warm_start", est.warm_start),
        momentum=check_real("momentum", est.momentum, 0.0, 1.0),
        nesterovs_momentum=check_bool("nesterovs_momentum", est.nesterovs_momentum),
        early_stopping=check_bool("early_stopping", est.early_stopping),
        validation_fraction=check_real(
            "validation_fraction", est.validation_fraction, 0.0, 1.0, high_open=True
        ),
        beta_1=check_real("beta_1", est.beta_1, 0.0, 1.0, high_open=True),
        beta_2=check_real("beta_2", est.beta_2, 0.0, 1.0, high_open=True),
        epsilon=check_real("epsilon", est.epsilon, 0.0, None, True),
        n_iter_no_change=check_n_iter_no_change(est.n_iter_no_change),
        max_fun=check_int("max_fun", est.max_fun),
        input_noise=check_real("input_noise", est.input_noise, 0.0),
        init=check_init(est.init),
        l1=check_real("l1", est.l1, 0.0),
        prune=None if est.prune is None else check_amount(est.prune, "prune"),
        prune_method=check_option("prune_method", est.prune_method, {"random", "magnitude"}),
        prune_scope=check_option("prune_scope", est.prune_scope, {"layer", "global"}),
        prune_at=check_option("prune_at", est.prune_at, {"init", "end"}),
        device=resolve_device(est.device),
        checkpoint=check_checkpoint(est.checkpoint, solver),
        verbose=est.verbose,
        random_state=check_random_state(est.random_state),
    )


def mlp_params(est):
    """An MLP estimator's parameters, checked."""
    fields = _training_fields(est)
    hidden = check_hidden_layer_sizes(est.hidden_layer_sizes)
    params = MLPParams(
        **fields,
        hidden_layer_sizes=hidden,
        activation=check_option("activation", est.activation, tuple(ACTIVATIONS)),
        dropout=check_dropout(est.dropout, len(hidden)),
        augment=est.augment,
    )
    if params.solver == "lbfgs" and (any(params.dropout) or params.input_noise > 0):
        raise ValueError(
            "solver='lbfgs' needs a deterministic objective: dropout and input_noise "
            "require solver='sgd' or 'adam'."
        )
    return params


def attention_params(est):
    """An attention estimator's parameters, checked."""
    fields = _training_fields(est)
    d_model = check_int("d_model", est.d_model)
    n_heads = check_int("n_heads", est.n_heads)
    if d_model % n_heads:
        raise ValueError(
            f"The 'd_model' parameter ({d_model}) must be a multiple of 'n_heads' ({n_heads})."
        )
    scale = est.attention_scale
    if scale is not None:
        scale = check_real("attention_scale", scale, 0.0, None, low_open=True)
    params = AttentionParams(
        **fields,
        d_model=d_model,
        n_heads=n_heads,
        n_layers=check_int("n_layers", est.n_layers),
        d_ff=check_int("d_ff", est.d_ff),
        dropout=check_real("dropout", est.dropout, 0.0, 1.0, high_open=True),
        attention_dropout=check_real(
            "attention_dropout", est.attention_dropout, 0.0, 1.0, high_open=True
        ),
        pooling=check_option("pooling", est.pooling, set(POOLING)),
        causal=check_bool("causal", est.causal),
        attention_scale=scale,
        activation=check_option("activation", est.activation, set(ACTIVATIONS)),
        sequence_shape=check_sequence_shape(est.sequence_shape),
        padding_value=check_padding_value(est.padding_value),
    )
    if params.solver == "lbfgs" and (
        params.dropout or params.attention_dropout or params.input_noise
    ):
        raise ValueError(
            "solver='lbfgs' needs a deterministic objective: dropout, attention_dropout "
            "and input_noise require solver='sgd' or 'adam'."
        )
    return params


def padding_is_nan(padding_value):
    """Whether ``padding_value`` marks padding by NaN (then X may hold NaN)."""
    return padding_value is not None and math.isnan(padding_value)
