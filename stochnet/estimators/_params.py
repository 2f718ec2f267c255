"""Validation of estimator hyper-parameters: clear errors that name the parameter."""

import numbers
import os

import numpy as np

from ..init import check_init


def _fail(name, expected, value):
    raise ValueError(f"The '{name}' parameter must be {expected}. Got {value!r} instead.")


def check_real(name, value, low=None, high=None, low_open=False, high_open=False):
    """A real number in the given interval, as a float."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or np.isnan(value):
        _fail(name, "a real number", value)
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = f"in the range {lo}{low if low is not None else '-inf'}, "
    interval += f"{high if high is not None else 'inf'}{hi}"
    if low is not None and (value < low or (low_open and value == low)):
        _fail(name, f"a float {interval}", value)
    if high is not None and (value > high or (high_open and value == high)):
        _fail(name, f"a float {interval}", value)
    return float(value)


def check_int(name, value, low=1):
    """An integer ``>= low``, as an int."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        _fail(name, f"an int in the range [{low}, inf)", value)
    return int(value)


def check_option(name, value, options):
    if not isinstance(value, str) or value not in options:
        _fail(name, f"a str among {sorted(options)}", value)
    return value


def check_bool(name, value):
    if not isinstance(value, bool | np.bool_):
        _fail(name, "an instance of 'bool'", value)
    return bool(value)


def check_hidden_layer_sizes(value):
    sizes = [value] if isinstance(value, numbers.Integral) else value
    try:
        sizes = list(sizes)
    except TypeError:
        _fail("hidden_layer_sizes", "an int or an array-like of ints", value)
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in sizes):
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
            _fail("dropout", "a float in [0, 1) or a tuple of them (one per hidden layer)", value)
        if len(rates) != n_hidden:
            raise ValueError(
                f"dropout has {len(rates)} rates but the network has {n_hidden} hidden "
                "layers; give one rate per hidden layer or a single float."
            )
    if any(not 0.0 <= r < 1.0 for r in rates):
        _fail("dropout", "a float in [0, 1) or a tuple of them (one per hidden layer)", value)
    return rates


def check_n_iter_no_change(value):
    if value == np.inf:
        return np.inf
    return check_int("n_iter_no_change", value)


def check_batch_size(value):
    if value == "auto":
        return value
    return check_int("batch_size", value)


def validate_training_params(est, solvers):
    """The optimiser, schedule and regularisation parameters every network estimator
    shares, checked; returns normalised values."""
    solver = check_option("solver", est.solver, solvers)
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
        checkpoint=check_checkpoint(est.checkpoint, solver),
    )


def check_checkpoint(value, solver):
    """``None`` or a path; only for the solvers that train by epochs."""
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike):
        _fail("checkpoint", "None or a path (str or os.PathLike)", value)
    if solver == "lbfgs":
        raise ValueError(
            "checkpoint is written at epoch ends, and solver='lbfgs' has none: use "
            "solver='sgd' or 'adam', or checkpoint=None."
        )
    return os.fspath(value)


def validate_mlp_params(est, activations, solvers):
    """All hyper-parameters of an MLP estimator, checked; returns normalised values."""
    hidden = check_hidden_layer_sizes(est.hidden_layer_sizes)
    return dict(
        validate_training_params(est, solvers),
        hidden_layer_sizes=hidden,
        activation=check_option("activation", est.activation, activations),
        dropout=check_dropout(est.dropout, len(hidden)),
    )
