"""Pruning masks θ ⊙ M inside training: pruned weights and their optimiser state stay 0."""

from numba import njit, prange

from ..._config import JIT
from .threads import in_parallel

#: Mask entries from which :func:`apply_mask` runs on all threads.
PARALLEL_FROM = 1 << 16


@njit(**JIT)
def _zero_masked(theta, state1, state2, mask, i):
    if mask[i] == 0:
        theta[i] = 0.0
        if state1.shape[0] > 0:
            state1[i] = 0.0
        if state2.shape[0] > 0:
            state2[i] = 0.0


@njit(parallel=True, **JIT)
def _apply_mask_parallel(theta, state1, state2, mask):
    for i in prange(mask.shape[0]):
        _zero_masked(theta, state1, state2, mask, i)


@njit(**JIT)
def apply_mask(theta, state1, state2, mask):
    """Zero ``theta[i]`` and the optimiser state wherever ``mask[i] == 0``.

    ``mask`` covers the weights ``θ[:len(mask)]``; ``state1``/``state2`` may be empty
    (SGD has one state vector).
    """
    if in_parallel(mask.shape[0], PARALLEL_FROM):
        _apply_mask_parallel(theta, state1, state2, mask)
    else:
        for i in range(mask.shape[0]):
            _zero_masked(theta, state1, state2, mask, i)
