"""Matrix products on strided views, split into tiles that Numba's threads share.

``np.dot`` inside ``@njit`` copies any view that is not C- or Fortran-contiguous and
always runs as one BLAS call. :func:`matmul` calls the BLAS's ``gemm`` (the one SciPy
ships, as Numba's ``np.dot`` does) directly on views whose rows or columns are
contiguous, and splits a large product into tiles along its longer output side, one
single-threaded BLAS call per tile on Numba's threads. On two cores this beats the
BLAS's own threads at every batch size of the benchmark MLP, and it leaves the
element-wise passes and the optimiser step the same threads (see
``engine.trainer.single_pool``, which holds the BLAS at one thread meanwhile).

The tiles depend on the shapes and on the machine's core count
(``numba.config.NUMBA_NUM_THREADS``), never on ``numba.set_num_threads``, so results do
not change with the thread count. The parallel part takes the operands as addresses and
leading dimensions, so it compiles once, whatever the dtypes and memory layouts of the
callers' views (each compiled parallel loop adds seconds to a cold start).
"""

import numba
import numpy as np
from numba import njit, prange, types

from ..._config import JIT
from .pointers import pointer

#: Products with fewer multiply-adds per tile than this are not split further: a
#: parallel region costs a few microseconds.
MIN_TILE_MACS = 1 << 18

#: At most this many tiles per product: one per core.
MAX_TILES = numba.config.NUMBA_NUM_THREADS

# Numba's BLAS entry (``numba/_lapack.c``): a column-major ``xgemm`` of kind 's' / 'd'.
_xxgemm = types.ExternalFunction(
    "numba_xxgemm",
    types.intc(
        types.char, types.char, types.char,  # kind, transa, transb
        types.intp, types.intp, types.intp,  # m, n, k
        types.voidptr, types.voidptr, types.intp,  # alpha, a, lda
        types.voidptr, types.intp,  # b, ldb
        types.voidptr, types.voidptr, types.intp,  # beta, c, ldc
    ),
)  # fmt: skip

_N = ord("n")
_T = ord("t")


@njit(**JIT)
def _column_major(a):
    """``(trans, ld)`` of ``a`` read as a column-major matrix: a row-major view is its own
    transpose there (``"n"`` of ``aᵀ``); a column-major view is itself (``"t"``)."""
    size = a.itemsize
    rows, cols = a.shape
    if a.strides[1] == size or cols == 1:
        return _N, max(a.strides[0] // size, cols, 1)
    if a.strides[0] == size or rows == 1:
        return _T, max(a.strides[1] // size, rows, 1)
    raise ValueError("matmul needs views with contiguous rows or columns")


@njit(**JIT)
def tile_count(m, n, k):
    """Tiles of an ``(m × k) @ (k × n)`` product (a function of the shapes alone)."""
    return max(1, min(MAX_TILES, m * n * k // MIN_TILE_MACS, max(m, n)))


@njit(**JIT)
def tile_bounds(m, n, tiles, t):
    """Rows ``r0:r1`` and columns ``c0:c1`` of tile ``t`` of an ``m × n`` output: the
    tiles split its longer side into equal parts."""
    if m >= n:
        size = (m + tiles - 1) // tiles
        return t * size, min(m, (t + 1) * size), 0, n
    size = (n + tiles - 1) // tiles
    return 0, m, t * size, min(n, (t + 1) * size)


@njit(**JIT)
def _gemm_tile(call, tiles, t):
    """Tile ``t`` of the product ``call`` describes (see :func:`matmul`)."""
    kind, size, trans_a, ld_a, trans_b, ld_b, ld_c, m, n, k, a, b, c, one, zero = call
    r0, r1, c0, c1 = tile_bounds(m, n, tiles, t)
    # Offsets of the tile's first row of a, column of b and element of c (row-major
    # c = a @ b is column-major cᵀ = bᵀ aᵀ for the BLAS).
    a += size * r0 * (ld_a if trans_a == _N else 1)
    b += size * c0 * (1 if trans_b == _N else ld_b)
    c += size * (r0 * ld_c + c0)
    _xxgemm(
        kind, trans_b, trans_a, c1 - c0, r1 - r0, k, pointer(one), pointer(b), ld_b,
        pointer(a), ld_a, pointer(zero), pointer(c), ld_c,
    )  # fmt: skip


@njit(parallel=True, **JIT)
def _gemm_tiles(call, tiles):
    for t in prange(tiles):
        _gemm_tile(call, tiles, t)


@njit(**JIT)
def matmul(a, b, c):
    """``c = a @ b`` for 2-D views with contiguous rows or columns (``c``: rows), in
    :func:`tile_count` tiles along the longer side of ``c``."""
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError("matmul: shapes do not match")
    if m == 0 or n == 0:
        return
    if k == 0:
        c[...] = 0.0
        return
    if c.strides[1] != c.itemsize and n > 1:
        raise ValueError("matmul needs an output with contiguous rows")
    trans_a, ld_a = _column_major(a)
    trans_b, ld_b = _column_major(b)
    one = np.ones(1, dtype=c.dtype)
    zero = np.zeros(1, dtype=c.dtype)
    kind = ord("s") if c.itemsize == 4 else ord("d")
    call = (
        np.int64(kind), np.int64(c.itemsize), np.int64(trans_a), np.int64(ld_a),
        np.int64(trans_b), np.int64(ld_b), np.int64(max(c.strides[0] // c.itemsize, n, 1)),
        np.int64(m), np.int64(n), np.int64(k), np.int64(a.ctypes.data),
        np.int64(b.ctypes.data), np.int64(c.ctypes.data), np.int64(one.ctypes.data),
        np.int64(zero.ctypes.data),
    )  # fmt: skip
    tiles = tile_count(m, n, k)
    if tiles == 1:
        _gemm_tile(call, 1, 0)
    else:
        _gemm_tiles(call, tiles)
