"""Inverted dropout on the GPU (see ``kernels.cpu.dropout``; same masks bit for bit)."""

import numpy as np
from numba import cuda

from ..philox_source import block_bits
from .launch import Transfer, cuda_kernel, grid


@cuda_kernel
def _dropout_forward(a, mask, threshold, scale, key, stream, step, first):
    n = a.shape[0]
    for b in range(cuda.grid(1), (n + 3) // 4, cuda.gridsize(1)):
        words = block_bits(key, stream, step, np.uint64(first + b))
        for lane in range(4):
            i = 4 * b + lane
            if i < n:
                m = scale if words[lane] >= threshold else 0.0
                mask[i] = m
                a[i] *= m


@cuda_kernel
def _dropout_backward(delta, mask):
    for i in range(cuda.grid(1), delta.shape[0], cuda.gridsize(1)):
        delta[i] *= mask[i]


def dropout_forward(a, mask, threshold, scale, key, stream, step, offset):
    """Apply dropout in place to the flat ``a`` and record the factors in ``mask``
    (element ``i`` kept when the word at counter index ``offset + i`` is ≥
    ``threshold``; ``offset`` a multiple of 4). ``scale`` stays float64, as on the CPU,
    so float32 outputs round identically."""
    if a.shape[0] == 0:
        return
    transfer = Transfer()
    d_a, d_mask = transfer.device(a), transfer.device(mask)
    blocks, threads = grid((a.shape[0] + 3) // 4)
    _dropout_forward[blocks, threads](
        d_a, d_mask, np.uint64(threshold), np.float64(scale), np.uint64(key),
        np.uint64(stream), np.uint64(step), np.int64(offset // 4),
    )  # fmt: skip
    transfer.copy_back()


def dropout_backward(delta, mask):
    """``delta *= mask``: the gradient flows through the kept units only."""
    if delta.shape[0] == 0:
        return
    transfer = Transfer()
    d_delta = transfer.device(delta)
    blocks, threads = grid(delta.shape[0])
    _dropout_backward[blocks, threads](d_delta, transfer.device(mask, write=False))
    transfer.copy_back()
