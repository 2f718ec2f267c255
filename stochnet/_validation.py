"""Argument checks shared across the package: clear errors that name the argument.

Two styles, one per audience: the estimators' hyper-parameters fail as scikit-learn's
do (``The 'alpha' parameter must be ...``, checked at ``fit``), the functions'
arguments (``random``, ``augment``, ``prune``, ``diagnostics``) name the argument
(``shape must be ...``).
"""

import math
import numbers

import numpy as np

#: Largest number of elements one call may draw (2**40: 4 TiB of float32).
MAX_SIZE = 2**40


# ------------------------------------------------------ function arguments
def is_int(value):
    """An integer that is not a bool (NumPy integers included)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_step(step):
    """A counter step in ``[0, 2**32)``, as ``numpy.uint64``."""
    if is_int(step) and 0 <= step < 2**32:
        return np.uint64(step)
    raise ValueError(f"step must be an int in [0, 2**32), got {step!r}.")


def check_shape(shape, name="shape"):
    """``shape`` as a tuple of non-negative ints with at most :data:`MAX_SIZE` elements."""
    entries = (shape,) if is_int(shape) else shape
    if not isinstance(entries, tuple | list) or not all(is_int(s) for s in entries):
        raise TypeError(f"{name} must be an int or a tuple of ints, got {shape!r}.")
    entries = tuple(int(s) for s in entries)
    if any(s < 0 for s in entries):
        raise ValueError(f"{name} must have non-negative entries, got {entries}.")
    if math.prod(entries) > MAX_SIZE:
        raise ValueError(f"{name} {entries} has more than {MAX_SIZE} elements.")
    return entries


def check_float_dtype(dtype):
    """``numpy.float32`` or ``numpy.float64`` as a dtype."""
    try:
        resolved = np.dtype(dtype)
    except (TypeError, ValueError):
        resolved = None
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}.")
    return resolved


def check_amount(amount, name="amount"):
    """A pruning fraction in [0, 1).

    Examples
    --------
    >>> from stochnet.prune import check_amount
    >>> check_amount(0.8)
    0.8
    """
    if not isinstance(amount, numbers.Real) or isinstance(amount, bool) or not 0 <= amount < 1:
        raise ValueError(f"{name} must be a float in [0, 1), got {amount!r}.")
    return float(amount)


# ---------------------------------------------------- estimator parameters
def fail(name, expected, value):
    """Raise scikit-learn's error for a hyper-parameter."""
    raise ValueError(f"The '{name}' parameter must be {expected}. Got {value!r} instead.")


def check_real(name, value, low=None, high=None, low_open=False, high_open=False):
    """A real number in the given interval, as a float."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or np.isnan(value):
        fail(name, "a real number", value)
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = f"in the range {lo}{low if low is not None else '-inf'}, "
    interval += f"{high if high is not None else 'inf'}{hi}"
    if low is not None and (value < low or (low_open and value == low)):
        fail(name, f"a float {interval}", value)
    if high is not None and (value > high or (high_open and value == high)):
        fail(name, f"a float {interval}", value)
    return float(value)


def check_int(name, value, low=1):
    """An integer ``>= low``, as an int."""
    if not is_int(value) or value < low:
        fail(name, f"an int in the range [{low}, inf)", value)
    return int(value)


def check_option(name, value, options):
    """One of the strings ``options``."""
    if not isinstance(value, str) or value not in options:
        fail(name, f"a str among {sorted(options)}", value)
    return value


def check_bool(name, value):
    """A bool (or NumPy bool), as a bool."""
    if not isinstance(value, bool | np.bool_):
        fail(name, "an instance of 'bool'", value)
    return bool(value)


def same_setting(a, b):
    """Whether two parameter values ask for the same thing: equal values, or frozen
    ``scipy.stats`` distributions of the same family and arguments (they compare by
    identity)."""
    frozen = [getattr(v, "dist", None) is not None and hasattr(v, "kwds") for v in (a, b)]
    if all(frozen):
        return (a.dist.name, a.args, a.kwds) == (b.dist.name, b.args, b.kwds)
    if any(frozen):
        return False
    try:
        return bool(np.all(a == b)) and np.shape(a) == np.shape(b)
    except (TypeError, ValueError):
        return a is b
