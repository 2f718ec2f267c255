"""Input checks for large arrays: parallel, vectorised, and the same answer for any
number of threads."""

import numpy as np
from numba import njit, prange

from ..._config import JIT
from .threads import in_parallel

#: Values per block; the blocks run on Numba's threads.
BLOCK = 1 << 16


@njit(inline="always", **JIT)
def _count_block(flat, b):
    block = flat[b * BLOCK : min(flat.shape[0], (b + 1) * BLOCK)]
    count = np.int32(0)  # indexed, not iterated: the iterator kept the loop scalar
    for i in range(block.shape[0]):
        if not np.isfinite(block[i]):
            count += np.int32(1)
    return count


@njit(parallel=True, **JIT)
def _count_parallel(flat, counts):
    for b in prange(counts.shape[0]):
        counts[b] = _count_block(flat, b)


@njit(**JIT)
def count_nonfinite(flat):
    """Number of NaN and infinite values in the 1-D array ``flat``."""
    n_blocks = (flat.shape[0] + BLOCK - 1) // BLOCK
    counts = np.zeros(n_blocks, dtype=np.int64)
    if in_parallel(n_blocks, 2):
        _count_parallel(flat, counts)
    else:
        for b in range(n_blocks):
            counts[b] = _count_block(flat, b)
    return counts.sum()
