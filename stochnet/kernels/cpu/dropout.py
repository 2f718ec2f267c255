"""Inverted dropout: train-time masks from Philox, survivors scaled by 1 / (1 - p)."""

import numpy as np
from numba import njit, prange

from ..._config import JIT
from ..shared.philox_source import philox_blocks
from .threads import in_parallel

#: Arrays from this size on are masked by all threads (below, a parallel launch costs
#: more than it saves). Counter-based draws make both paths give the same mask.
PARALLEL_FROM = 1 << 16
_CHUNK_BLOCKS = 1 << 12


#: Counter blocks whose words are drawn together (see ``philox_blocks``).
_WORD_CHUNK = 256


@njit(**JIT)
def _dropout_blocks(a, mask, threshold, scale, key, stream, step, first, start, stop):
    """Blocks ``[start, stop)`` of four elements each (see :func:`dropout_forward`)."""
    n = a.shape[0]
    words = np.empty((4, _WORD_CHUNK), dtype=np.uint64)
    in_order = np.empty(4 * _WORD_CHUNK, dtype=np.uint64)
    for chunk in range(start, stop, _WORD_CHUNK):
        count = min(_WORD_CHUNK, stop - chunk)
        philox_blocks(key, stream, step, first + chunk, words[0, :count], words[1, :count],
                      words[2, :count], words[3, :count])  # fmt: skip
        # Words in element order first: the masking loop then runs over contiguous
        # elements without a branch, and vectorises.
        for i in range(count):
            for lane in range(4):
                in_order[4 * i + lane] = words[lane, i]
        e0 = 4 * chunk
        size = min(4 * count, n - e0)
        # Indexing views from 0 (not a[e0 + j]): Numba cannot prove e0 + j ≥ 0 and would
        # wrap negative indices element by element, which keeps the loop scalar (2× slower).
        a_chunk = a[e0 : e0 + size]
        mask_chunk = mask[e0 : e0 + size]
        for j in range(size):
            m = scale if in_order[j] >= threshold else 0.0
            mask_chunk[j] = m
            a_chunk[j] *= m


@njit(parallel=True, **JIT)
def _dropout_parallel(a, mask, threshold, scale, key, stream, step, first, n_blocks):
    n_chunks = (n_blocks + _CHUNK_BLOCKS - 1) // _CHUNK_BLOCKS
    for c in prange(n_chunks):
        start = c * _CHUNK_BLOCKS
        stop = min(n_blocks, start + _CHUNK_BLOCKS)
        _dropout_blocks(a, mask, threshold, scale, key, stream, step, first, start, stop)


@njit(**JIT)
def dropout_forward(a, mask, threshold, scale, key, stream, step, offset):
    """Apply dropout in place to the flat ``a`` and record the factors in ``mask``.

    Element ``i`` is kept when the Philox word at counter index ``offset + i`` is at
    least ``threshold`` (``p * 2**32``); kept entries are multiplied by ``scale``.
    ``offset`` must be a multiple of 4 (blocks are never shared between calls).
    """
    n_blocks = (a.shape[0] + 3) // 4
    first = offset // 4
    if in_parallel(a.shape[0], PARALLEL_FROM):
        _dropout_parallel(a, mask, threshold, scale, key, stream, step, first, n_blocks)
    else:
        _dropout_blocks(a, mask, threshold, scale, key, stream, step, first, np.int64(0), n_blocks)


@njit(**JIT)
def dropout_backward(delta, mask):
    """``delta *= mask``: the gradient flows through the kept units only."""
    for i in range(delta.shape[0]):
        delta[i] *= mask[i]
