"""Scalar and per-row math written once for every backend (``register_jitable``, as
``philox_source``): the CPU kernels, the CUDA kernels, and the CUDA simulator (which runs
them as Python) share the activations' helpers, the losses' rows and the flushing.
"""

import math

from numba.extending import register_jitable

from .codes import MIN_VARIANCE

#: Added to the variance in LayerNorm, PyTorch's default.
LAYERNORM_EPS = 1e-5

_LOG_2PI = math.log(2.0 * math.pi)


@register_jitable
def sigmoid(z):
    """Logistic function without overflow for large ``|z|``."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@register_jitable
def softplus(z):
    """``log(1 + exp(z))`` without overflow."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@register_jitable
def flushed(x, tiny):
    """``x``, or a zero of its type when ``|x| < tiny`` (see ``kernels.cpu.optim``).

    The zero is ``x - x``, not ``x * 0``: an integer literal would type the result as
    float64, and a float32 optimiser loop would then run (unvectorised) in float64.
    NaN and ±inf pass through (``abs(x) < tiny`` is false for them).
    """
    return x if not abs(x) < tiny else x - x


@register_jitable
def row_prediction(loss, z, a, i):
    """Predictions ``a[i]`` from the output pre-activations ``z[i]`` of row ``i``."""
    k = z.shape[1]
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


@register_jitable
def row_loss(loss, z, a, y, w, delta, i):
    """Weighted loss ``w ℓ_i`` of row ``i`` (predictions ``a[i]`` already filled); writes
    the weighted deltas ``delta[i]``. The CPU and CUDA loss kernels share this code."""
    k = z.shape[1]
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
    return w * row


@register_jitable
def masked_softmax_row(s, i, stop):
    """Softmax of row ``i`` of the square scores ``s`` in place over keys ``j < stop``;
    the other entries become 0 (all of them when ``stop <= 0``)."""
    n = s.shape[1]
    if stop <= 0:
        for j in range(n):
            s[i, j] = 0.0
        return
    peak = s[i, 0]
    for j in range(1, stop):
        peak = max(peak, s[i, j])
    total = 0.0
    for j in range(stop):
        e = math.exp(s[i, j] - peak)
        s[i, j] = e
        total += e
    inv = 1.0 / total
    for j in range(stop):
        s[i, j] *= inv
    for j in range(stop, n):
        s[i, j] = 0.0


@register_jitable
def softmax_grad_row(p, grad, mask, i, scale, dropped):
    """Row ``i`` of ``dS = scale · P ⊙ (dP - rowsum(P ⊙ dP))`` in place of ``grad``
    (``dP``), after the attention-dropout factors ``mask`` when ``dropped``."""
    n = p.shape[1]
    if dropped:
        for j in range(n):
            grad[i, j] *= mask[i, j]
    inner = 0.0
    for j in range(n):
        inner += p[i, j] * grad[i, j]
    for j in range(n):
        grad[i, j] = scale * p[i, j] * (grad[i, j] - inner)


@register_jitable
def layernorm_row(x, gamma, beta, xhat, rstd, y, i):
    """Normalise row ``i`` of ``x`` into ``y`` (may alias ``x``), keeping ``x̂`` and
    ``1/σ`` for the backward pass."""
    width = x.shape[1]
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


@register_jitable
def layernorm_grad_row(dy, gamma, xhat, rstd, dx, i):
    """Row ``i`` of LayerNorm's input gradient, ``rstd · (g - mean(g) - x̂ mean(g x̂))``
    with ``g = dy γ``; ``dx`` may alias ``dy`` (the row is read before it is written)."""
    width = dy.shape[1]
    mean_g = 0.0
    mean_gx = 0.0
    for j in range(width):
        g = dy[i, j] * gamma[j]
        mean_g += g
        mean_gx += g * xhat[i, j]
    mean_g /= width
    mean_gx /= width
    r = rstd[i]
    for j in range(width):
        g = dy[i, j] * gamma[j]
        dx[i, j] = r * (g - mean_g - xhat[i, j] * mean_gx)
