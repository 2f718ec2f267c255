"""Layer normalisation over the last axis of a ``rows × width`` block.

``y = x̂ γ + β`` with ``x̂ = (x - mean) / sqrt(var + eps)`` (biased variance, as in
PyTorch). The forward pass keeps ``x̂`` and ``1 / sqrt(var + eps)`` for the backward
pass, so nothing is recomputed and ``γ = 0`` loses nothing.
"""

import math

from numba import njit, prange

from ..._config import JIT_MATH

#: Added to the variance, PyTorch's default.
LAYERNORM_EPS = 1e-5


@njit(parallel=True, **JIT_MATH)
def layernorm_forward(x, gamma, beta, xhat, rstd, y):
    """Normalise each row of ``x`` into ``y``; ``xhat`` (rows × width) and ``rstd``
    (rows) receive what :func:`layernorm_backward` needs. ``y`` may alias ``x``.
    Rows run in parallel."""
    n_rows, width = x.shape
    for i in prange(n_rows):
        mean = 0.0
        for j in range(width):
            mean += x[i, j]
        mean /= width
        var = 0.0
        for j in range(width):
            c = x[i, j] - mean
            var += c * c
        r = 1.0 / math.sqrt(var / width + LAYERNORM_EPS)
        rstd[i] = r
        for j in range(width):
            xh = (x[i, j] - mean) * r
            xhat[i, j] = xh
            y[i, j] = xh * gamma[j] + beta[j]


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
        mean_g = 0.0
        mean_gx = 0.0
        for j in range(width):
            dgamma[j] += dy[i, j] * xhat[i, j]
            dbeta[j] += dy[i, j]
            g = dy[i, j] * gamma[j]
            mean_g += g
            mean_gx += g * xhat[i, j]
        mean_g /= width
        mean_gx /= width
        r = rstd[i]
        for j in range(width):
            g = dy[i, j] * gamma[j]
            dx[i, j] = r * (g - mean_g - xhat[i, j] * mean_gx)
