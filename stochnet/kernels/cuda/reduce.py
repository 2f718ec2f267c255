"""Deterministic float64 sums on the GPU, for the scalars a training step reports.

A fixed grid of ``REDUCE_BLOCKS × REDUCE_THREADS`` threads: each thread sums a
grid-stride share in float64, each block reduces its threads in shared memory as a
fixed tree, and one thread per result adds the block partials in order. The grid does
not depend on the data size or the launch settings, so the result is the same bits on
every run (not the CPU's bits: the order of the terms differs).
"""

import numpy as np
from numba import cuda, float64

from .arrays import device_array
from .launch import Transfer, cuda_kernel

REDUCE_THREADS = 128
REDUCE_BLOCKS = 64

#: Columns of the block partials: Σx, Σx², Σ|x|.
SUM, SQUARES, ABSOLUTE = 0, 1, 2


@cuda_kernel
def _block_sums(x, n, partial):
    shared = cuda.shared.array((3, REDUCE_THREADS), float64)
    tid = cuda.threadIdx.x
    s = 0.0
    q = 0.0
    a = 0.0
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        v = float64(x[i])
        s += v
        q += v * v
        a += abs(v)
    shared[0, tid] = s
    shared[1, tid] = q
    shared[2, tid] = a
    cuda.syncthreads()
    width = REDUCE_THREADS // 2
    while width > 0:
        if tid < width:
            for c in range(3):
                shared[c, tid] += shared[c, tid + width]
        cuda.syncthreads()
        width //= 2
    if tid == 0:
        for c in range(3):
            partial[cuda.blockIdx.x, c] = shared[c, 0]


@cuda_kernel
def _combine(partial, first, count, out, slot):
    c = cuda.grid(1)
    if c < count:
        total = 0.0
        for b in range(partial.shape[0]):
            total += partial[b, first + c]
        out[slot + c] = total


def partials():
    """Scratch for :func:`sums_into` (allocate once per loop, not per call)."""
    return device_array((REDUCE_BLOCKS, 3), dtype=np.float64)


def sums_into(x, n, first, count, out, slot, partial=None):
    """``out[slot + c]`` = column ``first + c`` (``SUM``, ``SQUARES``, ``ABSOLUTE``) of the
    sums over ``x[:n]``, for ``c < count``; everything stays on the GPU."""
    partial = partials() if partial is None else partial
    _block_sums[REDUCE_BLOCKS, REDUCE_THREADS](x, np.int64(n), partial)
    _combine[1, 3](partial, np.int64(first), np.int64(count), out, np.int64(slot))


def sums(x):
    """``(Σx, Σx², Σ|x|)`` of the flat array ``x`` (NumPy or GPU) as host floats."""
    transfer = Transfer()
    out = cuda.device_array(3, dtype=np.float64)
    sums_into(transfer.device(x, write=False), x.shape[0], SUM, 3, out, 0)
    return tuple(float(v) for v in out.copy_to_host())
