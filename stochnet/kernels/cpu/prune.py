"""Pruning masks θ ⊙ M inside training: pruned weights and their optimiser state stay 0."""

from numba import njit, prange

from ..._config import JIT


@njit(parallel=True, **JIT)
def apply_mask(theta, state1, state2, mask):
    """Zero ``theta[i]`` and the optimiser state wherever ``mask[i] == 0``.

    ``mask`` covers the weights ``θ[:len(mask)]``; ``state1``/``state2`` may be empty
    (SGD has one state vector).
    """
    has1 = state1.shape[0] > 0
    has2 = state2.shape[0] > 0
    for i in prange(mask.shape[0]):
        if mask[i] == 0:
            theta[i] = 0.0
            if has1:
                state1[i] = 0.0
            if has2:
                state2[i] = 0.0
