"""Bulk random draws on the GPU (see ``kernels.cpu.rng``; same names, same bits)."""

import numpy as np
from numba import cuda

from ..shared.philox_source import (
    SHIFT32,
    block_bits,
    store_normal_block,
    unit_float32,
    unit_float64,
)
from .launch import Transfer, cuda_kernel, grid


@cuda_kernel
def _fill_uniform(out, single, key, stream, step, offset):
    n = out.shape[0]
    first = offset // 4
    n_blocks = (offset + n - 1) // 4 - first + 1
    for b in range(cuda.grid(1), n_blocks, cuda.gridsize(1)):
        block = first + b
        words = block_bits(key, stream, step, np.uint64(block))
        for lane in range(4):
            i = block * 4 + lane - offset
            if 0 <= i < n:
                out[i] = unit_float32(words[lane]) if single else unit_float64(words[lane])


@cuda_kernel
def _fill_normal(out, key, stream, step, offset):
    n = out.shape[0]
    first = offset // 4
    n_blocks = (offset + n - 1) // 4 - first + 1
    for b in range(cuda.grid(1), n_blocks, cuda.gridsize(1)):
        store_normal_block(out, key, stream, step, offset, first + b)


@cuda_kernel
def _fill_keep_mask(out, threshold, key, stream, step, offset):
    n = out.shape[0]
    first = offset // 4
    n_blocks = (offset + n - 1) // 4 - first + 1
    for b in range(cuda.grid(1), n_blocks, cuda.gridsize(1)):
        block = first + b
        words = block_bits(key, stream, step, np.uint64(block))
        for lane in range(4):
            i = block * 4 + lane - offset
            if 0 <= i < n:
                out[i] = words[lane] >= threshold


def _launch(kernel, out, *args, offset):
    if out.shape[0] == 0:
        return
    transfer = Transfer()
    d_out = transfer.device(out)
    blocks, threads = grid((out.shape[0] + 3) // 4 + 1)
    kernel[blocks, threads](d_out, *args, np.int64(offset))
    transfer.copy_back()


def fill_uniform(out, key, stream, step, offset):
    """Fill the 1-D float array ``out`` with U(0, 1) draws at ``offset``."""
    single = out.dtype == np.float32
    _launch(_fill_uniform, out, single, np.uint64(key), np.uint64(stream), np.uint64(step),
            offset=offset)  # fmt: skip


def fill_normal(out, key, stream, step, offset):
    """Fill ``out`` with N(0, 1) draws (Box-Muller on lanes (0, 1) and (2, 3))."""
    _launch(_fill_normal, out, np.uint64(key), np.uint64(stream), np.uint64(step), offset=offset)


def fill_keep_mask(out, threshold, key, stream, step, offset):
    """Bernoulli keep-mask ``out[i] = word >= threshold`` (exact, as on the CPU)."""
    _launch(_fill_keep_mask, out, np.uint64(threshold), np.uint64(key), np.uint64(stream),
            np.uint64(step), offset=offset)  # fmt: skip


@cuda_kernel
def _permutation(out, key, stream, step):
    # Fisher-Yates is sequential: one thread, the CPU's exact swaps.
    if cuda.grid(1) != 0:
        return
    n = out.shape[0]
    for i in range(n - 1, 0, -1):
        words = block_bits(key, stream, step, np.uint64(i >> 1))
        lane = 2 * (i & 1)
        u64 = (words[lane] << SHIFT32) | words[lane + 1]
        j = np.int64(u64 % np.uint64(i + 1))
        tmp = out[i]
        out[i] = out[j]
        out[j] = tmp


def permutation(out, key, stream, step):
    """Fisher-Yates shuffle of ``out`` in place, the same swaps as on the CPU (one GPU
    thread: the shuffle is sequential)."""
    transfer = Transfer()
    d_out = transfer.device(out)
    _permutation[1, 1](d_out, np.uint64(key), np.uint64(stream), np.uint64(step))
    transfer.copy_back()
