"""Output activation + loss + output delta, fused per row.

``output_loss`` returns the weighted loss sum ``Σ_i w_i ℓ_i`` and writes
``delta = w_i ∂ℓ_i/∂z`` (not yet divided by ``Σ w``); ``a`` receives the predictions.
Losses (``codes.LOSSES``), per row, with ``z`` the output pre-activations:

* softmax cross-entropy: ``ℓ = Σ_k y_k (logsumexp(z) - z_k)``
* binary cross-entropy: ``ℓ = Σ_k softplus(z_k) - y_k z_k``
* squared error: ``ℓ = ½ Σ_k (z_k - y_k)²``
* Poisson (scikit-learn's deviance form): ``ℓ = Σ_k y_k log y_k - y_k z_k - y_k + e^{z_k}``
* Gaussian NLL, ``z = (μ, s)``, ``σ² = softplus(s) + MIN_VARIANCE``:
  ``ℓ = ½ Σ_k log(2πσ_k²) + (y_k - μ_k)² / σ_k²``
"""

import math

from numba import njit

from ..._config import JIT_MATH
from ..codes import MIN_VARIANCE
from .activations import sigmoid, softplus

_LOG_2PI = math.log(2.0 * math.pi)


@njit(**JIT_MATH)
def output_activation(loss, z, a):
    """Predictions ``a`` (rows × outputs) from output pre-activations ``z``."""
    n_rows, k = z.shape
    for i in range(n_rows):
        if loss == 0:
            zmax = z[i, 0]
            for j in range(1, k):
                zmax = max(zmax, z[i, j])
            total = 0.0
            for j in range(k):
                e = math.exp(z[i, j] - zmax)
                a[i, j] = e
                total += e
            inv = 1.0 / total
            for j in range(k):
                a[i, j] *= inv
        elif loss == 1:
            for j in range(k):
                a[i, j] = sigmoid(z[i, j])
        elif loss == 2:
            for j in range(k):
                a[i, j] = z[i, j]
        elif loss == 3:
            for j in range(k):
                a[i, j] = math.exp(z[i, j])
        else:
            half = k // 2
            for j in range(half):
                a[i, j] = z[i, j]
                a[i, half + j] = softplus(z[i, half + j]) + MIN_VARIANCE


@njit(**JIT_MATH)
def output_loss(loss, z, a, y, sw, delta):
    """Loss sum over rows; fills predictions ``a`` and weighted deltas ``delta``.

    ``sw`` is the per-row weight vector, or an empty array for unit weights.
    """
    output_activation(loss, z, a)
    n_rows, k = z.shape
    weighted = sw.shape[0] > 0
    total = 0.0
    for i in range(n_rows):
        w = sw[i] if weighted else 1.0
        row = 0.0
        if loss == 0:
            zmax = z[i, 0]
            ysum = 0.0
            for j in range(k):
                zmax = max(zmax, z[i, j])
                ysum += y[i, j]
            lse = 0.0
            for j in range(k):
                lse += math.exp(z[i, j] - zmax)
            lse = zmax + math.log(lse)
            for j in range(k):
                row += y[i, j] * (lse - z[i, j])
                delta[i, j] = w * (a[i, j] * ysum - y[i, j])
        elif loss == 1:
            for j in range(k):
                row += softplus(z[i, j]) - y[i, j] * z[i, j]
                delta[i, j] = w * (a[i, j] - y[i, j])
        elif loss == 2:
            for j in range(k):
                r = z[i, j] - y[i, j]
                row += 0.5 * r * r
                delta[i, j] = w * r
        elif loss == 3:
            for j in range(k):
                t = y[i, j]
                ylogy = t * math.log(t) if t > 0.0 else 0.0
                row += ylogy - t * z[i, j] - t + a[i, j]
                delta[i, j] = w * (a[i, j] - t)
        else:
            half = k // 2
            for j in range(half):
                var = a[i, half + j]
                r = z[i, j] - y[i, j]
                row += 0.5 * (_LOG_2PI + math.log(var) + r * r / var)
                delta[i, j] = w * r / var
                dvar = 0.5 * (1.0 / var - r * r / (var * var))
                delta[i, half + j] = w * dvar * sigmoid(z[i, half + j])
        total += w * row
    return total
