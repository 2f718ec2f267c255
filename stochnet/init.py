"""Weight initialisers: named schemes, scipy.stats distributions and callables.

Every scheme draws from the ``"init"`` stream of :mod:`stochnet.random`, with the step
``2 * layer`` for weights and ``2 * layer + 1`` for biases, so each layer's initial
weights depend only on the seed and the layer index.

============================  ===========================================  ===========
``init``                      weights                                      biases
============================  ===========================================  ===========
``"glorot_uniform"``          U(-a, a), a = √(f / (fan_in + fan_out)),      U(-a, a)
                              f = 2 for logistic, else 6 (scikit-learn)
``"xavier_normal"``           N(0, 2 / (fan_in + fan_out))                 0
``"he_normal"``               N(0, 2 / fan_in)                             0
``"he_uniform"``              U(-a, a), a = √(6 / fan_in)                  0
``"lecun_normal"``            N(0, 1 / fan_in)                             0
``("uniform", a)``            U(-a, a)                                     0
``("normal", std)``           N(0, std²)                                   0
frozen ``scipy.stats`` dist.  ``dist.rvs(size=shape, random_state=rng)``   0
callable ``f(shape, rng)``    ``f((fan_in, fan_out), rng)``                0
============================  ===========================================  ===========

For the last two, ``rng`` is a :class:`numpy.random.Generator` on NumPy's Philox bit
generator keyed by ``(seed, layer)``.
"""

import numbers

import numpy as np

from .random import STREAMS, normal, uniform

NAMED = ("glorot_uniform", "xavier_normal", "he_normal", "he_uniform", "lecun_normal")
PARAMETRISED = ("uniform", "normal")

_CHOICES = (
    f"one of {NAMED}, ('uniform', a), ('normal', std), a frozen scipy.stats "
    "distribution, or a callable (shape, rng) -> array"
)


def _is_frozen_distribution(init):
    return hasattr(init, "rvs") and hasattr(init, "dist")


def check_init(init, name="init"):
    """Validate an ``init`` specification and return it in canonical form.

    Raises
    ------
    ValueError
        If ``init`` is not a valid specification; the message lists the choices.

    Examples
    --------
    >>> from stochnet.init import check_init
    >>> check_init("he_normal")
    'he_normal'
    """
    if isinstance(init, str):
        if init in NAMED:
            return init
        raise ValueError(f"{name}={init!r} is not valid; expected {_CHOICES}.")
    if isinstance(init, tuple):
        if (
            len(init) == 2
            and init[0] in PARAMETRISED
            and isinstance(init[1], numbers.Real)
            and np.isfinite(init[1])
            and init[1] > 0
        ):
            return (init[0], float(init[1]))
        raise ValueError(
            f"{name}={init!r} is not valid; a tuple must be ('uniform', a) or "
            f"('normal', std) with a positive finite number; expected {_CHOICES}."
        )
    if _is_frozen_distribution(init) or callable(init):
        return init
    raise ValueError(f"{name}={init!r} is not valid; expected {_CHOICES}.")


def _generator(key, layer):
    words = np.array([key, (STREAMS["init"] << 32) | layer], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=words))


def initialize_layer(init, fan_in, fan_out, key, layer, activation="relu", dtype=np.float64):
    """Initial weights ``(fan_in, fan_out)`` and biases ``(fan_out,)`` of one dense layer.

    Parameters
    ----------
    init : str, tuple, scipy.stats frozen distribution or callable
        See the module docstring.
    fan_in, fan_out : int
    key : numpy.uint64
        Key from :func:`stochnet.random.derive_key`.
    layer : int
        Layer index (selects the counter step).
    activation : str, default="relu"
        Hidden activation; only ``"glorot_uniform"`` uses it (factor 2 for logistic).
    dtype : numpy dtype, default=float64

    Returns
    -------
    W : numpy.ndarray of shape (fan_in, fan_out)
    b : numpy.ndarray of shape (fan_out,)

    Examples
    --------
    >>> from stochnet.init import initialize_layer
    >>> from stochnet.random import derive_key
    >>> W, b = initialize_layer("he_normal", 256, 128, derive_key(0), layer=0)
    >>> W.shape, b.shape, round(float(W.var() * 256), 1)
    ((256, 128), (128,), 2.0)
    """
    init = check_init(init)
    shape = (fan_in, fan_out)
    w_step, b_step = 2 * layer, 2 * layer + 1
    bias = np.zeros(fan_out, dtype=np.float64)

    def scaled_uniform(size, bound, step):
        return bound * (2.0 * uniform(size, key, stream="init", step=step) - 1.0)

    def scaled_normal(size, std, step):
        return std * normal(size, key, stream="init", step=step)

    if init == "glorot_uniform":
        factor = 2.0 if activation == "logistic" else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        weights = scaled_uniform(shape, bound, w_step)
        bias = scaled_uniform(fan_out, bound, b_step)
    elif init == "xavier_normal":
        weights = scaled_normal(shape, np.sqrt(2.0 / (fan_in + fan_out)), w_step)
    elif init == "he_normal":
        weights = scaled_normal(shape, np.sqrt(2.0 / fan_in), w_step)
    elif init == "he_uniform":
        weights = scaled_uniform(shape, np.sqrt(6.0 / fan_in), w_step)
    elif init == "lecun_normal":
        weights = scaled_normal(shape, np.sqrt(1.0 / fan_in), w_step)
    elif isinstance(init, tuple):
        kind, scale = init
        sample = scaled_uniform if kind == "uniform" else scaled_normal
        weights = sample(shape, scale, w_step)
    else:
        rng = _generator(key, layer)
        if _is_frozen_distribution(init):
            weights = init.rvs(size=shape, random_state=rng)
        else:
            weights = init(shape, rng)
        weights = np.asarray(weights)
        if weights.shape != shape:
            raise ValueError(f"init returned an array of shape {weights.shape}; expected {shape}.")
        if not np.issubdtype(weights.dtype, np.number) or not np.all(np.isfinite(weights)):
            raise ValueError("init returned non-numeric or non-finite weights.")
    return weights.astype(dtype, copy=False), bias.astype(dtype, copy=False)
