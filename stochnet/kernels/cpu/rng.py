"""Bulk random draws from Philox4x32-10: uniforms, normals, keep-masks, permutations.

Element ``i`` of an output drawn at ``offset`` uses counter index ``offset + i`` (see
``kernels.shared.philox_source``), so every value is a pure function of
``(key, stream, step, index)``: the result does not depend on the number of threads.
Parallel loops run over blocks of four counter indices and never share state; arrays
under ``PARALLEL_FROM`` values, or drawn with one kernel thread, are filled by the same
blocks in a plain loop (no parallel region: see ``threads``).
"""

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from ..._config import JIT
from ..shared.philox_source import (
    SHIFT32,
    block_bits,
    store_normal_block,
    unit_float32,
    unit_float64,
)
from .threads import in_parallel

#: Arrays from this size on are drawn by all threads (below, a parallel launch costs
#: more than it saves). Counter-based draws make both paths give the same values.
PARALLEL_FROM = 1 << 16


def _unit_for(out, word):
    """Uniform in (0, 1) at the resolution of ``out``'s dtype (23 or 32 bits)."""
    if out.dtype == np.float32:
        return unit_float32(word)
    return unit_float64(word)


@overload(_unit_for, jit_options=JIT)
def _unit_for_overload(out, word):
    if out.dtype == types.float32:
        return lambda out, word: unit_float32(word)
    return lambda out, word: unit_float64(word)


@njit(**JIT)
def _block_range(offset, n):
    """First block and number of blocks covering indices ``[offset, offset + n)``."""
    first = offset // 4
    last = (offset + n - 1) // 4
    return first, last - first + 1


@njit(inline="always", **JIT)
def _uniform_block(out, key, stream, step, offset, block):
    words = block_bits(key, stream, step, np.uint64(block))
    for lane in range(4):
        i = block * 4 + lane - offset
        if 0 <= i < out.shape[0]:
            out[i] = _unit_for(out, words[lane])


@njit(inline="always", **JIT)
def _keep_block(out, threshold, key, stream, step, offset, block):
    words = block_bits(key, stream, step, np.uint64(block))
    for lane in range(4):
        i = block * 4 + lane - offset
        if 0 <= i < out.shape[0]:
            out[i] = words[lane] >= threshold


@njit(parallel=True, **JIT)
def _uniform_parallel(out, key, stream, step, offset, first, n_blocks):
    for b in prange(n_blocks):
        _uniform_block(out, key, stream, step, offset, first + b)


@njit(parallel=True, **JIT)
def _normal_parallel(out, key, stream, step, offset, first, n_blocks):
    for b in prange(n_blocks):
        store_normal_block(out, key, stream, step, offset, first + b)


@njit(parallel=True, **JIT)
def _keep_parallel(out, threshold, key, stream, step, offset, first, n_blocks):
    for b in prange(n_blocks):
        _keep_block(out, threshold, key, stream, step, offset, first + b)


@njit(**JIT)
def fill_uniform(out, key, stream, step, offset):
    """Fill the 1-D float array ``out`` with U(0, 1) draws at ``offset``."""
    n = out.shape[0]
    if n == 0:
        return
    first, n_blocks = _block_range(offset, n)
    if in_parallel(n, PARALLEL_FROM):
        _uniform_parallel(out, key, stream, step, offset, first, n_blocks)
    else:
        for b in range(n_blocks):
            _uniform_block(out, key, stream, step, offset, first + b)


@njit(**JIT)
def fill_normal(out, key, stream, step, offset):
    """Fill ``out`` with N(0, 1) draws (Box-Muller on lanes (0, 1) and (2, 3))."""
    n = out.shape[0]
    if n == 0:
        return
    first, n_blocks = _block_range(offset, n)
    if in_parallel(n, PARALLEL_FROM):
        _normal_parallel(out, key, stream, step, offset, first, n_blocks)
    else:
        for b in range(n_blocks):
            store_normal_block(out, key, stream, step, offset, first + b)


@njit(**JIT)
def fill_keep_mask(out, threshold, key, stream, step, offset):
    """Bernoulli keep-mask: ``out[i] = word >= threshold`` with ``threshold = p * 2**32``.

    The comparison is on integers, so the mask is exact and identical on every backend.
    """
    n = out.shape[0]
    if n == 0:
        return
    first, n_blocks = _block_range(offset, n)
    if in_parallel(n, PARALLEL_FROM):
        _keep_parallel(out, threshold, key, stream, step, offset, first, n_blocks)
    else:
        for b in range(n_blocks):
            _keep_block(out, threshold, key, stream, step, offset, first + b)


@njit(**JIT)
def permutation(out, key, stream, step):
    """Fisher-Yates shuffle of ``out`` in place (``out`` usually ``arange(n)``).

    Position ``i`` swaps with ``j = u64 % (i + 1)`` where ``u64`` joins the two words of
    counter indices ``2i`` and ``2i + 1``; the modulo bias is below ``n / 2**64``.
    """
    n = out.shape[0]
    for i in range(n - 1, 0, -1):
        words = block_bits(key, stream, step, np.uint64(i >> 1))
        lane = 2 * (i & 1)
        u64 = (words[lane] << SHIFT32) | words[lane + 1]
        j = np.int64(u64 % np.uint64(i + 1))
        tmp = out[i]
        out[i] = out[j]
        out[j] = tmp
