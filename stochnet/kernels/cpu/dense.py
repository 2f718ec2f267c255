"""Dense layer forward and backward on C-contiguous 2-D blocks.

The matrix products go through ``np.dot`` (the BLAS that SciPy ships) with preallocated
outputs. The ``*_rows`` variants split the rows into fixed chunks handled by Numba's
threads, one single-threaded BLAS call each (for callers that keep the BLAS at one
thread, see ``engine.trainer.single_pool``); the chunks do not depend on the thread
count, so neither do the results.
"""

import numpy as np
from numba import njit, prange

from ..._config import JIT_MATH


@njit(**JIT_MATH)
def dense_forward(x, w, b, z):
    """``z = x @ w + b`` for ``x`` (rows × n_in), ``w`` (n_in × n_out), ``b`` (n_out)."""
    np.dot(x, w, z)
    n_rows, n_out = z.shape
    for i in range(n_rows):
        for j in range(n_out):
            z[i, j] += b[j]


@njit(**JIT_MATH)
def dense_backward(x, w, dz, gw, gb, dx):
    """Gradient sums of one layer.

    ``gw = x.T @ dz``, ``gb = dz.sum(0)`` and, when ``dx`` has rows, ``dx = dz @ w.T``.
    """
    np.dot(x.T, dz, gw)
    n_rows, n_out = dz.shape
    for j in range(n_out):
        gb[j] = 0.0
    for i in range(n_rows):
        for j in range(n_out):
            gb[j] += dz[i, j]
    if dx.shape[0] > 0:
        np.dot(dz, w.T, dx)


#: Rows per BLAS call in the row-parallel products.
ROW_CHUNK = 256


@njit(parallel=True, **JIT_MATH)
def dense_forward_rows(x, w, b, z):
    """:func:`dense_forward` with the rows in parallel chunks."""
    n_rows, n_out = z.shape
    for c in prange((n_rows + ROW_CHUNK - 1) // ROW_CHUNK):
        r0 = c * ROW_CHUNK
        r1 = min(n_rows, r0 + ROW_CHUNK)
        np.dot(x[r0:r1], w, z[r0:r1])
        for i in range(r0, r1):
            for j in range(n_out):
                z[i, j] += b[j]


@njit(parallel=True, **JIT_MATH)
def _input_gradient_rows(dz, w, dx):
    n_rows = dz.shape[0]
    for c in prange((n_rows + ROW_CHUNK - 1) // ROW_CHUNK):
        r0 = c * ROW_CHUNK
        r1 = min(n_rows, r0 + ROW_CHUNK)
        np.dot(dz[r0:r1], w.T, dx[r0:r1])


@njit(**JIT_MATH)
def dense_backward_rows(x, w, dz, gw, gb, dx):
    """:func:`dense_backward` with ``dx = dz @ w.T`` in parallel row chunks."""
    dense_backward(x, w, dz, gw, gb, dx[:0])
    if dx.shape[0] > 0:
        _input_gradient_rows(dz, w, dx)
