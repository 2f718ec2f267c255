"""Pruning masks inside training on the GPU (see ``kernels.cpu.prune``)."""

from numba import cuda

from .launch import Transfer, cuda_kernel, grid


@cuda_kernel
def _apply_mask(theta, state1, state2, mask):
    has1 = state1.shape[0] > 0
    has2 = state2.shape[0] > 0
    for i in range(cuda.grid(1), mask.shape[0], cuda.gridsize(1)):
        if mask[i] == 0:
            theta[i] = 0.0
            if has1:
                state1[i] = 0.0
            if has2:
                state2[i] = 0.0


def apply_mask(theta, state1, state2, mask):
    """Zero ``theta[i]`` and the optimiser state wherever ``mask[i] == 0``."""
    if mask.shape[0] == 0:
        return
    transfer = Transfer()
    arrays = [transfer.device(a) for a in (theta, state1, state2)]
    blocks, threads = grid(mask.shape[0])
    _apply_mask[blocks, threads](*arrays, transfer.device(mask, write=False))
    transfer.copy_back()
