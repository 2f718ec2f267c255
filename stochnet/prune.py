"""Pruning masks: random (θ ⊙ M with M uniform over exact counts) and by magnitude.

Masks are boolean keep-masks (``True`` keeps the weight). Biases are never pruned.
"""

import math

import numpy as np

from ._runtime.device import resolve_device
from ._validation import check_amount, check_shape
from .random import permutation


def random_mask(shape, amount, seed, step=0, device="cpu"):
    """Keep-mask removing exactly ``round(amount · size)`` entries, uniformly at random.

    Parameters
    ----------
    shape : int or tuple of ints
    amount : float in [0, 1)
    seed : None, int, numpy.random.Generator or numpy.random.RandomState
    step : int, default=0
        Counter step (estimators use the layer index).
    device : {"cpu", "cuda", "auto"}, default="cpu"

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> import stochnet as sn
    >>> m = sn.prune.random_mask((10, 10), 0.3, seed=0)
    >>> int((~m).sum())
    30
    """
    amount = check_amount(amount)
    device = resolve_device(device)
    shape = check_shape(shape)
    size = math.prod(shape)
    removed = round(amount * size)
    keep = np.ones(size, dtype=bool)
    keep[permutation(size, seed, stream="prune", step=step, device=device)[:removed]] = False
    return keep.reshape(shape)


def magnitude_mask(W, amount, scope="layer"):
    """Keep-mask(s) removing the ``round(amount · size)`` smallest ``|w|``.

    Parameters
    ----------
    W : array or list of arrays
    amount : float in [0, 1)
    scope : {"layer", "global"}, default="layer"
        With a list: prune each array by ``amount`` (``"layer"``) or rank all weights
        together (``"global"``). Ties are broken by position.

    Returns
    -------
    numpy.ndarray of bool, or a list of them for a list input

    Examples
    --------
    >>> import numpy as np
    >>> import stochnet as sn
    >>> sn.prune.magnitude_mask(np.array([0.1, -3.0, 0.5, 2.0]), 0.5)
    array([False,  True, False,  True])
    """
    amount = check_amount(amount)
    if not isinstance(scope, str) or scope not in ("layer", "global"):
        raise ValueError(f"scope must be 'layer' or 'global', got {scope!r}.")
    try:
        arrays = [np.asarray(w) for w in W] if isinstance(W, list | tuple) else [np.asarray(W)]
    except ValueError:
        raise ValueError("W must be an array or a list of arrays of real numbers.") from None
    for w in arrays:
        if w.ndim < 1 or w.dtype.kind not in "iuf" or not np.all(np.isfinite(w)):
            raise ValueError("W must be an array (or a list of arrays) of finite real numbers.")

    def smallest_removed(flat):
        keep = np.ones(flat.size, dtype=bool)
        keep[np.argsort(np.abs(flat), kind="stable")[: round(amount * flat.size)]] = False
        return keep

    if scope == "global" and len(arrays) > 1:
        keep = smallest_removed(np.concatenate([w.ravel() for w in arrays]))
        masks = np.split(keep, np.cumsum([w.size for w in arrays])[:-1])
    else:
        masks = [smallest_removed(w.ravel()) for w in arrays]
    masks = [m.reshape(w.shape) for m, w in zip(masks, arrays, strict=True)]
    return masks if isinstance(W, list | tuple) else masks[0]
