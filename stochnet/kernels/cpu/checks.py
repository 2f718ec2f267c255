"""Input checks for large arrays: parallel, vectorised, and the same answer for any
number of threads."""

import numpy as np
from numba import njit, prange

from ..._config import JIT

#: Values per block; the blocks run on Numba's threads.
BLOCK = 1 << 16


@njit(parallel=True, **JIT)
def count_nonfinite(flat):
    """Number of NaN and infinite values in the 1-D array ``flat``."""
    n = flat.shape[0]
    n_blocks = (n + BLOCK - 1) // BLOCK
    counts = np.zeros(n_blocks, dtype=np.int64)
    for b in prange(n_blocks):
        block = flat[b * BLOCK : min(n, (b + 1) * BLOCK)]
        count = np.int32(0)  # indexed, not iterated: the iterator kept the loop scalar
        for i in range(block.shape[0]):
            if not np.isfinite(block[i]):
                count += np.int32(1)
        counts[b] = count
    return counts.sum()
