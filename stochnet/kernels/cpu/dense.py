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


#: Rows per partial product of the row-parallel weight gradient.
GRADIENT_ROW_CHUNK = 1024


@njit(parallel=True, **JIT_MATH)
def _parameter_gradients_rows(x, dz, gw, gb):
    """``gw = x.T @ dz`` and ``gb = dz.sum(0)`` as sums over fixed chunks of
    ``GRADIENT_ROW_CHUNK`` rows: the chunks' products in parallel, then added in
    chunk order (the same bits for any thread count)."""
    n_rows, n_out = dz.shape
    n_in = x.shape[1]
    n_chunks = (n_rows + GRADIENT_ROW_CHUNK - 1) // GRADIENT_ROW_CHUNK
    if n_chunks == 0:
        gw[...] = 0.0
        gb[...] = 0.0
        return
    partial_w = np.empty((n_chunks, n_in, n_out), dtype=gw.dtype)
    partial_b = np.zeros((n_chunks, n_out), dtype=gb.dtype)
    for c in prange(n_chunks):
        r0 = c * GRADIENT_ROW_CHUNK
        r1 = min(n_rows, r0 + GRADIENT_ROW_CHUNK)
        np.dot(x[r0:r1].T, dz[r0:r1], partial_w[c])
        for i in range(r0, r1):
            for j in range(n_out):
                partial_b[c, j] += dz[i, j]
    for i in prange(n_in):
        for j in range(n_out):
            total = partial_w[0, i, j]
            for c in range(1, n_chunks):
                total += partial_w[c, i, j]
            gw[i, j] = total
    for j in range(n_out):
        total = partial_b[0, j]
        for c in range(1, n_chunks):
            total += partial_b[c, j]
        gb[j] = total


@njit(**JIT_MATH)
def dense_backward_rows(x, w, dz, gw, gb, dx):
    """:func:`dense_backward` with every product in parallel row chunks."""
    _parameter_gradients_rows(x, dz, gw, gb)
    if dx.shape[0] > 0:
        _input_gradient_rows(dz, w, dx)
