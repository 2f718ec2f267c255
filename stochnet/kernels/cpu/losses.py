"""Output activation + loss + output delta, fused per row.

``output_loss`` returns the weighted loss sum ``Σ_i w_i ℓ_i`` and writes
``delta = w_i ∂ℓ_i/∂z`` (not yet divided by ``Σ w``); ``a`` receives the predictions.
Losses (``codes.LOSSES``), per row, with ``z`` the output pre-activations:

* softmax cross-entropy: ``ℓ = Σ_k y_k (logsumexp(z) - z_k)``
* binary cross-entropy: ``ℓ = Σ_k softplus(z_k) - y_k z_k``

(each ``-log p`` term of these two capped at ``-log(eps)`` of the dtype, as scikit-learn
reports them; the deltas are not capped)
* squared error: ``ℓ = ½ Σ_k (z_k - y_k)²``
* Poisson (scikit-learn's deviance form): ``ℓ = Σ_k y_k log y_k - y_k z_k - y_k + e^{z_k}``
* Gaussian NLL, ``z = (μ, s)``, ``σ² = softplus(s) + MIN_VARIANCE``:
  ``ℓ = ½ Σ_k log(2πσ_k²) + (y_k - μ_k)² / σ_k²``
"""

import math

import numpy as np
from numba import njit

from ..._config import JIT_MATH
from ..codes import SOFTMAX_CROSS_ENTROPY
from ..shared.math_source import log_loss_cap, normalise_row, row_loss, row_prediction, softmax_exp


@njit(**JIT_MATH)
def output_activation(loss, z, a):
    """Predictions ``a`` (rows × outputs) from output pre-activations ``z``."""
    if loss == SOFTMAX_CROSS_ENTROPY:
        _softmax_rows(z, a)
        return
    for i in range(z.shape[0]):
        row_prediction(loss, z, a, i)


@njit(**JIT_MATH)
def _softmax_rows(z, a):
    """``row_prediction``'s softmax for a whole block (see :func:`_softmax_block`)."""
    _softmax_block(z, a, np.empty(0))


@njit(**JIT_MATH)
def _softmax_block(z, a, lse):
    """``row_prediction``'s softmax for a whole block, its exponentials in one flat loop;
    ``lse`` (unless empty) receives each row's log-sum-exp as ``row_prediction``
    returns it.

    Rows are short (one entry per class); exponentiating row by row left the
    vectorised exponential with ten-element loops. The values are those of
    ``row_prediction`` (tested). Its max and sum loops are spelled out here rather than
    shared with ``row_prediction`` through per-row helpers: those calls are not inlined
    (35 % slower here), and the CUDA target rejects ``inline="always"`` on them.
    """
    n_rows, k = z.shape
    with_lse = lse.shape[0] > 0
    for i in range(n_rows):
        zmax = z[i, 0]
        for j in range(1, k):
            zmax = max(zmax, z[i, j])
        if with_lse:
            lse[i] = zmax
        for j in range(k):
            a[i, j] = z[i, j] - zmax
    flat = a.reshape(n_rows * k)
    for t in range(flat.shape[0]):
        flat[t] = softmax_exp(flat[t])
    for i in range(n_rows):
        total = normalise_row(a, i)
        if with_lse:
            lse[i] += math.log(total)


@njit(**JIT_MATH)
def output_loss(loss, z, a, y, sw, delta):
    """Loss sum over rows; fills predictions ``a`` and weighted deltas ``delta``.

    ``sw`` is the per-row weight vector, or an empty array for unit weights. The
    softmax cross-entropy runs block-wise (:func:`_softmax_block`,
    :func:`_softmax_cross_entropy`: the predictions of ``row_prediction``, bit for bit,
    and the loss and deltas of ``row_loss`` to rounding).
    """
    n_rows = z.shape[0]
    if loss == SOFTMAX_CROSS_ENTROPY:
        lse = np.empty(n_rows)
        _softmax_block(z, a, lse)
        return _softmax_cross_entropy(z, a, y, sw, delta, lse)
    weighted = sw.shape[0] > 0
    total = 0.0
    for i in range(n_rows):
        lse_i = row_prediction(loss, z, a, i)
        total += row_loss(loss, z, a, y, sw[i] if weighted else 1.0, delta, i, lse_i)
    return total


@njit(**JIT_MATH)
def _softmax_cross_entropy(z, a, y, sw, delta, lse):
    """``row_loss``'s softmax cross-entropy, its arithmetic written out for a block:
    called once per row, the shared per-row function cost four times this loop."""
    weighted = sw.shape[0] > 0
    n_rows, k = z.shape
    cap = log_loss_cap(z)
    total = 0.0
    for i in range(n_rows):
        w = sw[i] if weighted else 1.0
        ysum = 0.0
        row = 0.0
        for j in range(k):
            ysum += y[i, j]
            row += y[i, j] * min(lse[i] - z[i, j], cap)
        for j in range(k):
            delta[i, j] = w * (a[i, j] * ysum - y[i, j])
        total += w * row
    return total
