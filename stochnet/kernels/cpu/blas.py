"""Matrix products on strided views, split into tiles that Numba's threads share.

``np.dot`` inside ``@njit`` copies any view that is not C- or Fortran-contiguous and
always runs as one BLAS call. :func:`matmul` calls the BLAS's ``gemm`` (the one SciPy
ships, as Numba's ``np.dot`` does) directly on views whose rows or columns are
contiguous, and splits a large product into tiles along its longer output side, one
single-threaded BLAS call per tile on Numba's threads. On two cores this beats the
BLAS's own threads at every batch size of the benchmark MLP, and it leaves the
element-wise passes and the optimiser step the same threads. Callers must hold the
BLAS at one thread meanwhile (``engine.trainer.single_pool``): a threaded BLAS entered
from several threads at once oversubscribes the cores and can crash.

The tiles depend on the shapes and on the machine's core count
(``numba.config.NUMBA_NUM_THREADS``), never on ``numba.set_num_threads``, so results do
not change with the thread count (on one kernel thread they run one after another). The
parallel part takes the operands as addresses and leading dimensions, so it compiles
once, whatever the dtypes and memory layouts of the callers' views (each compiled
parallel loop adds seconds to a cold start); the part before it takes them typed with
any layout (``specialise.operand``), so it compiles once per dtype.
"""

import numba
import numpy as np
from numba import njit, prange, types

from ..._config import JIT
from .epilogues import ACTIVATE, DELTA, NONE, no_epilogue
from .pointers import call_void, copy_bytes, pointer
from .specialise import any_layout, operand
from .threads import in_parallel

#: Products with fewer multiply-adds per tile than this are not split further: a
#: parallel region costs a few microseconds.
MIN_TILE_MACS = 1 << 18

#: Products with fewer multiply-adds run their tiles one after another: a parallel
#: region's fork and join (a few microseconds, far more on a busy virtual machine) cost
#: what splitting ~50 µs of work saves. Digits fits of ``(64,)`` (products of 0.8 M
#: multiply-adds) ran 2-10 % slower on two kernel threads than on one.
MIN_PARALLEL_MACS = 4 * MIN_TILE_MACS

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
def _gemm_tile(call, scalars, bias, epilogue, tiles, t):
    """Tile ``t`` of the product ``call`` describes (see :func:`_describe`), then its
    ``epilogue`` (see :mod:`.epilogues`)."""
    kind, size, trans_a, ld_a, trans_b, ld_b, ld_c, m, n, k, a, b, c = call
    r0, r1, c0, c1 = tile_bounds(m, n, tiles, t)
    # Offsets of the tile's first row of a, column of b and element of c (row-major
    # c = a @ b is column-major cᵀ = bᵀ aᵀ for the BLAS).
    a += size * r0 * (ld_a if trans_a == _N else 1)
    b += size * c0 * (1 if trans_b == _N else ld_b)
    tile = c + size * (r0 * ld_c + c0)
    if bias != 0:  # c starts as the bias rows; the BLAS adds the product (beta = 1)
        for i in range(r1 - r0):
            copy_bytes(tile + size * i * ld_c, bias + size * c0, size * (c1 - c0))
    alpha = scalars.ctypes.data
    _xxgemm(
        kind, trans_b, trans_a, c1 - c0, r1 - r0, k, pointer(alpha), pointer(b), ld_b,
        pointer(a), ld_a, pointer(alpha + size), pointer(tile), ld_c,
    )  # fmt: skip
    _finish_tile(epilogue, c, ld_c, n, r0, r1, c0, c1, t)


@njit(**JIT)
def _finish_tile(epilogue, c, ld_c, n, r0, r1, c0, c1, t):
    """Rows ``r0:r1``, columns ``c0:c1`` of ``c`` (address, ``ld_c`` per row, ``n``
    columns) through the epilogue's finisher, as tile ``t``."""
    op, code, first, second, sums, finisher = epilogue
    if op != NONE:
        bounds = (np.int64(r0), np.int64(r1), np.int64(c0), np.int64(c1), np.int64(t))
        call_void(
            finisher,
            (op, code, np.int64(c), np.int64(ld_c), np.int64(n), *bounds, first, second, sums),
        )


@njit(parallel=True, **JIT)
def _gemm_tiles(call, scalars, bias, epilogue, tiles):
    for t in prange(tiles):
        _gemm_tile(call, scalars, bias, epilogue, tiles, t)


@njit(**JIT)
def _describe(a, b, c):
    """The product ``c = a @ b`` as integers: BLAS kind, item size, layouts, leading
    dimensions, shape and addresses."""
    m, k = a.shape
    n = b.shape[1]
    if c.strides[1] != c.itemsize and n > 1:
        raise ValueError("matmul needs an output with contiguous rows")
    trans_a, ld_a = _column_major(a)
    trans_b, ld_b = _column_major(b)
    kind = ord("s") if c.itemsize == 4 else ord("d")
    return (
        np.int64(kind), np.int64(c.itemsize), np.int64(trans_a), np.int64(ld_a),
        np.int64(trans_b), np.int64(ld_b), np.int64(max(c.strides[0] // c.itemsize, n, 1)),
        np.int64(m), np.int64(n), np.int64(k), np.int64(a.ctypes.data),
        np.int64(b.ctypes.data), np.int64(c.ctypes.data),
    )  # fmt: skip


@njit(**JIT)
def _scalars(single, beta):
    """Alpha = 1 and ``beta`` in float32 (``single``) or float64, as raw bytes."""
    if single:
        values32 = np.empty(2, dtype=np.float32)
        values32[0] = 1.0
        values32[1] = beta
        return values32.view(np.uint8)
    values64 = np.empty(2, dtype=np.float64)
    values64[0] = 1.0
    values64[1] = beta
    return values64.view(np.uint8)


@njit(**JIT)
def _product(a, b, bias, c, epilogue):
    """``c = a @ b`` (plus ``bias`` in every row unless it is empty) in
    :func:`tile_count` tiles, each finished by ``epilogue`` (see :mod:`.epilogues`)."""
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError("matmul: shapes do not match")
    if c.size == 0:
        return
    with_bias = bias.shape[0] > 0
    bias_address = np.int64(bias.ctypes.data) if with_bias else np.int64(0)
    # Alpha = 1 and beta as raw bytes (an argument, so it lives until the BLAS is done).
    scalars = _scalars(c.itemsize == 4, 1.0 if with_bias else 0.0)
    if k == 0:  # nothing for the BLAS to do: c is the bias rows (or zeros)
        for i in range(m):
            for j in range(n):
                c[i, j] = bias[j] if with_bias else 0.0
        zero = np.int64(0)
        ld_c = np.int64(max(c.strides[0] // c.itemsize, n, 1))
        _finish_tile(epilogue, np.int64(c.ctypes.data), ld_c, n, zero, m, zero, n, zero)
        return
    call = _describe(a, b, c)
    tiles = tile_count(m, n, k)
    if tiles > 1 and in_parallel(m * n * k, MIN_PARALLEL_MACS):
        _gemm_tiles(call, scalars, bias_address, epilogue, tiles)
    else:  # the same tiles one after another: the same bits
        for t in range(tiles):
            _gemm_tile(call, scalars, bias_address, epilogue, tiles, np.int64(t))


@njit(**JIT)
def matmul(a, b, c):
    """``c = a @ b`` for 2-D views with contiguous rows or columns (``c``: rows), in
    :func:`tile_count` tiles along the longer side of ``c``."""
    no_bias = operand(np.empty(0, dtype=c.dtype))
    _product(operand(a), operand(b), no_bias, any_layout(c), no_epilogue())


@njit(**JIT)
def _check_bias(bias, c):
    if bias.shape[0] != c.shape[1] or (bias.strides[0] != bias.itemsize and c.shape[1] > 1):
        raise ValueError("affine needs a contiguous bias with one entry per column")


@njit(**JIT)
def affine(a, b, bias, c):
    """``c = a @ b + bias`` (:func:`matmul` with the bias row written into each tile of
    ``c`` first and added by the BLAS, not by a pass of its own)."""
    row, out = operand(bias), any_layout(c)
    _check_bias(row, out)
    _product(operand(a), operand(b), row, out, no_epilogue())


@njit(**JIT)
def _same_layout(x, c):
    return x.shape == c.shape and x.strides == c.strides


@njit(**JIT)
def affine_activate(a, b, bias, z, out, code, finisher):
    """``z = a @ b + bias`` and ``out = f(z)`` for the activation ``code``, each tile
    activated by the thread that computed it (``out``: the layout of ``z``;
    ``finisher``: ``epilogues.finisher(dtype)``)."""
    row, pre = operand(bias), any_layout(z)
    _check_bias(row, pre)
    if not _same_layout(operand(out), pre):
        raise ValueError("affine_activate needs out with the shape and strides of z")
    epilogue = (
        np.int64(ACTIVATE),
        np.int64(code),
        np.int64(out.ctypes.data),
        np.int64(0),
        np.int64(0),
        np.int64(finisher),
    )
    _product(operand(a), operand(b), row, pre, epilogue)


@njit(**JIT)
def matmul_delta(a, b, c, z, mask, code, column_sums, finisher):
    """Hidden deltas ``c = (a @ b) ⊙ mask ⊙ f'(z)`` and ``column_sums = c.sum(0)``.

    ``mask`` (dropout factors) may be empty for none; ``z`` and ``mask`` have the
    layout of ``c``; ``finisher``: ``epilogues.finisher(dtype)``. Each tile is finished
    by the thread that computed it; the column sums add per-tile partial sums (their
    order depends on the shapes alone).
    """
    delta = any_layout(c)
    if not _same_layout(operand(z), delta):
        raise ValueError("matmul_delta needs z with the shape and strides of c")
    with_mask = mask.size > 0
    if with_mask and not _same_layout(operand(mask), delta):
        raise ValueError("matmul_delta needs a mask with the shape and strides of c")
    m, n = c.shape
    if column_sums.shape[0] != n:
        raise ValueError("matmul_delta needs one column sum per column of c")
    partial = np.zeros((tile_count(m, n, a.shape[1]), n), dtype=c.dtype)
    epilogue = (
        np.int64(DELTA),
        np.int64(code),
        np.int64(z.ctypes.data),
        np.int64(mask.ctypes.data) if with_mask else np.int64(0),
        np.int64(partial.ctypes.data),
        np.int64(finisher),
    )
    _product(operand(a), operand(b), operand(np.empty(0, dtype=c.dtype)), delta, epilogue)
    for j in range(n):
        column_sums[j] = partial[0, j]
    for t in range(1, partial.shape[0]):
        for j in range(n):
            column_sums[j] += partial[t, j]
