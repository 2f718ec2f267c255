"""Dense layer forward and backward on C-contiguous 2-D blocks.

The matrix products go through ``np.dot`` (the BLAS that SciPy ships) with preallocated
outputs; never call these from inside a ``prange`` body.
"""

import numpy as np
from numba import njit

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
