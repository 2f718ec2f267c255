"""Layer normalisation over the last axis of a ``rows × width`` block.

``y = x̂ γ + β`` with ``x̂ = (x - mean) / sqrt(var + eps)`` (biased variance, as in
PyTorch). The forward pass keeps ``x̂`` and ``1 / sqrt(var + eps)`` for the backward
pass, so nothing is recomputed and ``γ = 0`` loses nothing.
"""

from numba import njit, prange

from ..._config import JIT_MATH
from ..shared.math_source import layernorm_grad_row, layernorm_row
from .threads import in_parallel


@njit(parallel=True, **JIT_MATH)
def _layernorm_parallel(x, gamma, beta, xhat, rstd, y):
    for i in prange(x.shape[0]):
        layernorm_row(x, gamma, beta, xhat, rstd, y, i)


@njit(**JIT_MATH)
def layernorm_forward(x, gamma, beta, xhat, rstd, y):
    """Normalise each row of ``x`` into ``y``; ``xhat`` (rows × width) and ``rstd``
    (rows) receive what :func:`layernorm_backward` needs. ``y`` may alias ``x``.
    Rows run in parallel (with more than one kernel thread)."""
    if in_parallel(x.shape[0], 2):
        _layernorm_parallel(x, gamma, beta, xhat, rstd, y)
    else:
        for i in range(x.shape[0]):
            layernorm_row(x, gamma, beta, xhat, rstd, y, i)


@njit(**JIT_MATH)
def layernorm_backward(dy, gamma, xhat, rstd, dgamma, dbeta, dx):
    """Gradients of one LayerNorm from ``dy``.

    ``dgamma``/``dbeta`` receive ``Σ_rows dy·x̂`` and ``Σ_rows dy``; ``dx`` (may alias
    ``dy``) receives ``rstd · (g - mean(g) - x̂ · mean(g x̂))`` with ``g = dy γ``.
    """
    n_rows, width = dy.shape
    for j in range(width):
        dgamma[j] = 0.0
        dbeta[j] = 0.0
    for i in range(n_rows):
        for j in range(width):
            dgamma[j] += dy[i, j] * xhat[i, j]
            dbeta[j] += dy[i, j]
        layernorm_grad_row(dy, gamma, xhat, rstd, dx, i)
