"""Gathering a mini-batch's rows, targets and sample weights into the workspace."""

import numpy as np
from numba import njit, prange

from ..._config import JIT
from .pointers import copy_bytes
from .threads import in_parallel

#: Copies of at least this many bytes run over Numba's threads (rows read at random
#: wait on memory; a one-row prediction must not wake a thread pool).
PARALLEL_COPY_BYTES = 1 << 18


@njit(parallel=True, **JIT)
def _copy_rows(source, source_stride, order, start, rows, dest, dest_stride, row_bytes):
    """:func:`load_rows` on addresses and byte strides: compiled once for every dtype."""
    use_order = order.shape[0] > 0
    for r in prange(rows):
        src = order[start + r] if use_order else start + r
        copy_bytes(dest + r * dest_stride, source + src * source_stride, row_bytes)


@njit(**JIT)
def load_rows(X, order, start, rows, dest):
    """Copy rows ``order[start : start + rows]`` of ``X`` into ``dest`` (``order`` may be
    empty for the identity)."""
    n_cols = X.shape[1]
    row_bytes = n_cols * X.itemsize
    contiguous_rows = X.strides[1] == X.itemsize and dest.strides[1] == dest.itemsize
    same_rows = contiguous_rows and X.dtype == dest.dtype
    if same_rows and in_parallel(rows * row_bytes, PARALLEL_COPY_BYTES):
        source, to = np.int64(X.ctypes.data), np.int64(dest.ctypes.data)
        _copy_rows(source, X.strides[0], order, start, rows, to, dest.strides[0], row_bytes)
        return
    use_order = order.shape[0] > 0
    for r in range(rows):
        src = order[start + r] if use_order else start + r
        for j in range(n_cols):
            dest[r, j] = X[src, j]


@njit(**JIT)
def load_weights(sw, order, start, rows, dest):
    """Copy the weights of the batch into ``dest``; returns their sum."""
    use_order = order.shape[0] > 0
    total = 0.0
    for r in range(rows):
        src = order[start + r] if use_order else start + r
        dest[r] = sw[src]
        total += sw[src]
    return total


@njit(**JIT)
def load_targets(Y, sw, order, start, rows, work):
    """Targets and weights of the batch into ``work.y`` and ``work.sw``.

    Returns ``(y, w, Σw)``; ``w`` is empty for unit weights (``sw`` empty).
    """
    y = work.y[:rows]
    load_rows(Y, order, start, rows, y)
    if sw.shape[0] > 0:
        w = work.sw[:rows]
        return y, w, load_weights(sw, order, start, rows, w)
    return y, work.sw[:0], float(rows)
