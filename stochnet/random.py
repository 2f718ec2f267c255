"""Counter-based random numbers: one seed, the same draws on every device and thread.

Every random decision in stochnet is a pure function of ``(key, stream, step, index)``
through Philox4x32-10 (Salmon et al. 2011): ``key`` is a 64-bit number derived once from
the user's seed, ``stream`` names the source of randomness (see :data:`STREAMS`),
``step`` is typically the optimisation step and ``index`` the position of the element.
Changing how often one stream is used never changes the draws of another.
"""

import numbers
from collections.abc import Mapping

import numpy as np

from ._runtime.device import kernel_module, resolve_device
from ._validation import check_float_dtype, check_shape, check_step
from .kernels.codes import STREAMS as _STREAMS

#: Stream numbers of the sources of randomness. ``"user"`` is the default of the
#: public sampling functions.
STREAMS = dict(_STREAMS)

_MASK64 = (1 << 64) - 1


def splitmix64(x):
    """The SplitMix64 finaliser of ``x`` (a Python int), as a Python int < 2**64.

    Examples
    --------
    >>> from stochnet.random import splitmix64
    >>> splitmix64(0)
    16294208416658607535
    """
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def derive_key(seed):
    """A 64-bit Philox key from a seed or ``random_state``.

    Parameters
    ----------
    seed : None, int, numpy.random.Generator or numpy.random.RandomState
        ``None`` draws fresh entropy from the operating system; an int in
        ``[0, 2**64)`` is mixed with SplitMix64; a NumPy generator is advanced by one
        draw (as scikit-learn's ``check_random_state`` would be).

    Returns
    -------
    numpy.uint64

    Raises
    ------
    TypeError
        For any other type.
    ValueError
        For a negative or too large integer.

    Examples
    --------
    >>> from stochnet.random import derive_key
    >>> bool(derive_key(0) == derive_key(0))
    True
    """
    if seed is None:
        state = np.random.SeedSequence().generate_state(1, dtype=np.uint64)
        return np.uint64(state[0])
    if isinstance(seed, np.random.Generator):
        return np.uint64(seed.integers(0, 2**64, dtype=np.uint64))
    if isinstance(seed, np.random.RandomState):
        hi, lo = seed.randint(0, 2**32, size=2, dtype=np.int64)
        return np.uint64((int(hi) << 32) | int(lo))
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        seed = int(seed)
        if not 0 <= seed <= _MASK64:
            raise ValueError(f"seed must be in [0, 2**64), got {seed}.")
        return np.uint64(splitmix64(seed))
    raise TypeError(
        "seed/random_state must be None, a non-negative int, a numpy.random.Generator "
        f"or a numpy.random.RandomState, got {type(seed).__name__}."
    )


#: The sources of randomness a fit draws from, each seedable alone through a
#: ``random_state`` mapping (see :func:`source_keys`).
SOURCES = ("init", "shuffle", "dropout", "noise", "crop", "prune", "validation")


def check_random_state(random_state, name="random_state"):
    """``random_state`` as a fit reads it: ``None``, an int, a NumPy generator, or a
    mapping from names in :data:`SOURCES` (and ``"default"``) to one of those. Nothing
    is drawn.

    Raises
    ------
    ValueError
        For a mapping with a name that is not a source (the message lists them), or a
        negative or too large integer seed.
    TypeError
        For any other type.
    """
    if not isinstance(random_state, Mapping):
        _check_seed(random_state, name)
        return random_state
    valid = ("default", *SOURCES)
    for source, seed in random_state.items():
        if source not in valid:
            raise ValueError(
                f"{name} has an unknown source {source!r}; the sources are "
                f"{', '.join(map(repr, valid))}."
            )
        _check_seed(seed, f"{name}[{source!r}]")
    return random_state


def _check_seed(seed, name):
    """What :func:`derive_key` takes, checked without drawing from it."""
    if seed is None or isinstance(seed, np.random.Generator | np.random.RandomState):
        return
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if not 0 <= int(seed) <= _MASK64:
            raise ValueError(f"{name} must be in [0, 2**64), got {seed}.")
        return
    raise TypeError(
        f"{name} must be None, a non-negative int, a numpy.random.Generator, a "
        "numpy.random.RandomState or (for an estimator) a mapping from source names to "
        f"those, got {type(seed).__name__}."
    )


def source_keys(random_state):
    """One 64-bit Philox key per source of randomness, from a ``random_state``.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator, numpy.random.RandomState or mapping
        A seed gives every source its key (:func:`derive_key`): the sources still differ
        by their stream number. A mapping ``{source: seed}`` seeds the sources it names
        and gives the others its ``"default"`` entry (drawn once: they share a key as
        under one seed); without ``"default"`` they behave as under ``None``.

    Returns
    -------
    dict of str to numpy.uint64
        A key for each name in :data:`SOURCES`.

    Examples
    --------
    >>> from stochnet.random import source_keys
    >>> source_keys(0) == source_keys({"default": 0})
    True
    >>> keys = source_keys({"default": 0, "dropout": 3})
    >>> bool(keys["dropout"] == source_keys(3)["dropout"]), bool(keys["init"] == keys["shuffle"])
    (True, True)
    """
    check_random_state(random_state)
    if not isinstance(random_state, Mapping):
        key = derive_key(random_state)
        return dict.fromkeys(SOURCES, key)
    default = derive_key(random_state.get("default"))
    return {
        source: derive_key(random_state[source]) if source in random_state else default
        for source in SOURCES
    }


def stream_id(stream):
    """Stream number from a name in :data:`STREAMS` or a non-negative int < 2**32.

    Examples
    --------
    >>> from stochnet.random import stream_id
    >>> int(stream_id("dropout")), int(stream_id(12))
    (3, 12)
    """
    if isinstance(stream, str):
        if stream not in STREAMS:
            raise ValueError(f"stream must be one of {sorted(STREAMS)} or an int, got {stream!r}.")
        return np.uint64(STREAMS[stream])
    if (
        isinstance(stream, numbers.Integral)
        and not isinstance(stream, bool)
        and 0 <= stream < 2**32
    ):
        return np.uint64(stream)
    raise ValueError(
        f"stream must be a name in {sorted(STREAMS)} or an int in [0, 2**32), got {stream!r}."
    )


def uniform(shape, seed, stream=0, step=0, dtype=np.float64, device="cpu"):
    """Uniform draws on the open interval (0, 1).

    Parameters
    ----------
    shape : int or tuple of ints
    seed : None, int, numpy.random.Generator or numpy.random.RandomState
        See :func:`derive_key`.
    stream : int or str, default=0
        Source of randomness (a name in :data:`STREAMS` or a number).
    step : int, default=0
        Counter step, e.g. the training step.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        float64 draws have 2**-32 resolution, float32 draws 2**-23; both exclude 0 and 1.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to draw; the result is a NumPy array either way, bit-identical.

    Returns
    -------
    numpy.ndarray
        Element ``i`` (C order) is a function of ``(seed, stream, step, i)`` only.

    Examples
    --------
    >>> import stochnet as sn
    >>> u = sn.random.uniform((2, 3), seed=0)
    >>> u.shape, bool(((u > 0) & (u < 1)).all())
    ((2, 3), True)
    """
    shape = check_shape(shape)
    dtype = check_float_dtype(dtype)
    kernels = kernel_module("rng", resolve_device(device))
    out = np.empty(int(np.prod(shape)), dtype=dtype)
    _fill(kernels.fill_uniform, out, derive_key(seed), stream_id(stream), check_step(step), 0)
    return out.reshape(shape)


def normal(shape, seed, stream=0, step=0, dtype=np.float64, device="cpu"):
    """Standard normal draws (Box-Muller on Philox words).

    Parameters are those of :func:`uniform`.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import stochnet as sn
    >>> z = sn.random.normal(100_000, seed=1)
    >>> bool(abs(z.mean()) < 0.02 and abs(z.var() - 1) < 0.02)
    True
    """
    shape = check_shape(shape)
    dtype = check_float_dtype(dtype)
    kernels = kernel_module("rng", resolve_device(device))
    out = np.empty(int(np.prod(shape)), dtype=dtype)
    _fill(kernels.fill_normal, out, derive_key(seed), stream_id(stream), check_step(step), 0)
    return out.reshape(shape)


def keep_threshold(rate):
    """The integer threshold below which a 32-bit word drops a unit (``rate * 2**32``).

    Examples
    --------
    >>> from stochnet.random import keep_threshold
    >>> int(keep_threshold(0.5))
    2147483648
    """
    return np.uint64(round(float(rate) * 2.0**32))


def dropout_mask(shape, rate, seed, step=0, stream="dropout", device="cpu"):
    """Boolean keep-mask of inverted dropout: each entry is kept with probability ``1 - rate``.

    Parameters
    ----------
    shape : int or tuple of ints
    rate : float in [0, 1)
        Probability of dropping an entry.
    seed : None, int, numpy.random.Generator or numpy.random.RandomState
    step : int, default=0
    stream : int or str, default="dropout"
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to draw; the result is a NumPy array either way, bit-identical.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` where the unit is kept.

    Examples
    --------
    >>> import stochnet as sn
    >>> m = sn.random.dropout_mask(10_000, 0.25, seed=0)
    >>> bool(0.73 < m.mean() < 0.77)
    True
    """
    if not isinstance(rate, numbers.Real) or not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"rate must be a float in [0, 1), got {rate!r}.")
    shape = check_shape(shape)
    kernels = kernel_module("rng", resolve_device(device))
    out = np.empty(int(np.prod(shape)), dtype=np.bool_)
    key, threshold = derive_key(seed), keep_threshold(rate)
    _fill(kernels.fill_keep_mask, out, threshold, key, stream_id(stream), check_step(step), 0)
    return out.reshape(shape)


def _fill(kernel, *args):
    """``kernel(*args)`` on the calling thread's share of the kernel threads (draws from
    fits side by side must not start parallel regions together, see
    ``_runtime.threads.calling_threads``)."""
    from ._runtime.threads import calling_threads  # imports Numba: not at stochnet's import

    with calling_threads():
        kernel(*args)


def permutation(n, seed, stream=0, step=0, device="cpu"):
    """A random permutation of ``range(n)`` (Fisher-Yates on Philox words).

    ``device="cuda"`` shuffles on the GPU (one thread: the same swaps).

    Examples
    --------
    >>> import stochnet as sn
    >>> sorted(sn.random.permutation(5, seed=0).tolist())
    [0, 1, 2, 3, 4]
    """
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or not 0 <= n < 2**32:
        raise ValueError(f"n must be an int in [0, 2**32), got {n!r}.")
    kernels = kernel_module("rng", resolve_device(device))
    out = np.arange(n, dtype=np.int64)
    kernels.permutation(out, derive_key(seed), stream_id(stream), check_step(step))
    return out
