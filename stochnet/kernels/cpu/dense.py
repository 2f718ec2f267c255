"""Dense layer forward and backward on C-contiguous 2-D blocks.

The matrix products are :func:`.blas.matmul`'s: tiles on Numba's threads, one
single-threaded BLAS call each (callers keep the BLAS at one thread, see
``engine.trainer.single_pool``).
"""

from numba import njit

from ..._config import JIT_MATH
from .blas import affine, matmul


@njit(**JIT_MATH)
def dense_forward(x, w, b, z):
    """``z = x @ w + b`` for ``x`` (rows × n_in), ``w`` (n_in × n_out), ``b`` (n_out)."""
    affine(x, w, b, z)


@njit(**JIT_MATH)
def dense_backward(x, w, dz, gw, gb, dx):
    """Gradient sums of one layer.

    ``gw = x.T @ dz``, ``gb = dz.sum(0)`` and, when ``dx`` has rows, ``dx = dz @ w.T``.
    """
    _parameter_gradients(x, dz, gw, gb)
    if dx.shape[0] > 0:
        matmul(dz, w.T, dx)


@njit(**JIT_MATH)
def _parameter_gradients(x, dz, gw, gb):
    """``gw = x.T @ dz`` and ``gb = dz.sum(0)``."""
    matmul(x.T, dz, gw)
    column_sums(dz, gb)


@njit(**JIT_MATH)
def column_sums(x, out):
    """``out = x.sum(0)`` for a 2-D block ``x``."""
    n_rows, n_cols = x.shape
    for j in range(n_cols):
        out[j] = 0.0
    for i in range(n_rows):
        for j in range(n_cols):
            out[j] += x[i, j]
