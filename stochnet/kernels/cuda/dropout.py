"""Inverted dropout on the GPU (see ``kernels.cpu.dropout``; same masks bit for bit)."""

import numpy as np
from numba import cuda, uint32

from ..shared.philox_source import block_bits
from .launch import Transfer, cuda_kernel, grid

#: Words staged in shared memory per thread block: four per thread, up to 1024 threads.
_STAGED_WORDS = 4 * 1024


@cuda.jit(device=True)
def _stage_words(words, key, stream, step, block):
    """The calling thread's counter block ``block`` into ``words[4t : 4t + 4]``, then a
    barrier: the thread block then reads word ``j`` of its ``4 × blockDim`` consecutive
    words with thread ``j % blockDim``, so that consecutive threads touch consecutive
    elements and every load and store is coalesced (drawing and applying per thread
    would access memory at a 16-byte stride). Called by every
    thread of the block."""
    drawn = block_bits(key, stream, step, np.uint64(block))
    t = cuda.threadIdx.x
    for lane in range(4):
        words[4 * t + lane] = uint32(drawn[lane])
    cuda.syncthreads()


@cuda_kernel
def _dropout_forward(a, mask, threshold, scale, key, stream, step, first):
    words = cuda.shared.array(_STAGED_WORDS, uint32)
    n = a.shape[0]
    width = cuda.blockDim.x
    for base in range(cuda.blockIdx.x * width, (n + 3) // 4, cuda.gridDim.x * width):
        _stage_words(words, key, stream, step, first + base + cuda.threadIdx.x)
        for j in range(cuda.threadIdx.x, 4 * width, width):
            e = 4 * base + j
            if e < n:
                m = scale if np.uint64(words[j]) >= threshold else 0.0
                mask[e] = m
                a[e] *= m
        cuda.syncthreads()


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
        d_a,
        d_mask,
        np.uint64(threshold),
        np.float64(scale),
        np.uint64(key),
        np.uint64(stream),
        np.uint64(step),
        np.int64(offset // 4),
    )
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
