"""Scalar and per-row math written once for every backend (``register_jitable``, as
``philox_source``): the CPU kernels, the CUDA kernels, and the CUDA simulator (which runs
them as Python) share the activations' helpers, the losses' rows and the flushing.
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload, register_jitable

from ..._config import JIT
from ..codes import (
    BINARY_CROSS_ENTROPY,
    GELU,
    LEAKY_RELU,
    LEAKY_RELU_SLOPE,
    LOGISTIC,
    MIN_VARIANCE,
    POISSON,
    RELU,
    SOFTMAX_CROSS_ENTROPY,
    SOFTPLUS,
    SQUARED_ERROR,
    TANH,
)

#: Added to the variance in LayerNorm, PyTorch's default.
LAYERNORM_EPS = 1e-5

_LOG_2PI = math.log(2.0 * math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def cast_like(arr, x):
    """``x`` as a scalar of ``arr``'s dtype (float32 or float64)."""
    return arr.dtype.type(x)


@overload(cast_like, jit_options=JIT)
def _cast_like_overload(arr, x):
    if arr.dtype == types.float32:
        return lambda arr, x: np.float32(x)
    return lambda arr, x: np.float64(x)


def flush_threshold(arr):
    """Magnitude below which optimiser state is flushed to zero (per dtype)."""
    return 1e-30 if arr.dtype == np.float32 else 1e-300


@overload(flush_threshold, jit_options=JIT)
def _flush_threshold_overload(arr):
    if arr.dtype == types.float32:
        return lambda arr: np.float32(1e-30)
    return lambda arr: np.float64(1e-300)


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
def logistic_slope(z):
    s = sigmoid(z)
    return s * (1.0 - s)


@register_jitable
def tanh_slope(z):
    t = math.tanh(z)
    return 1.0 - t * t


@register_jitable
def leaky_relu(z):
    return z if z > 0.0 else LEAKY_RELU_SLOPE * z


@register_jitable
def gelu(z):
    """Exact GELU, ``z Φ(z)``."""
    return 0.5 * z * (1.0 + math.erf(z * _INV_SQRT2))


@register_jitable
def gelu_slope(z):
    cdf = 0.5 * (1.0 + math.erf(z * _INV_SQRT2))
    return cdf + z * _INV_SQRT_2PI * math.exp(-0.5 * z * z)


@register_jitable
def activation(code, z):
    """``f(z)`` for the activation ``code`` (``codes.ACTIVATIONS``): one element."""
    if code == LOGISTIC:
        return sigmoid(z)
    if code == TANH:
        return math.tanh(z)
    if code == RELU:
        return max(z, 0.0)
    if code == LEAKY_RELU:
        return leaky_relu(z)
    if code == GELU:
        return gelu(z)
    if code == SOFTPLUS:
        return softplus(z)
    return z


@register_jitable
def activation_slope(code, z):
    """``f'(z)`` for the activation ``code``: one element."""
    if code == LOGISTIC:
        return logistic_slope(z)
    if code == TANH:
        return tanh_slope(z)
    if code == RELU:
        return 1.0 if z > 0.0 else 0.0
    if code == LEAKY_RELU:
        return 1.0 if z > 0.0 else LEAKY_RELU_SLOPE
    if code == GELU:
        return gelu_slope(z)
    if code == SOFTPLUS:
        return sigmoid(z)
    return 1.0


@register_jitable
def flushed(x, tiny):
    """``x``, or a zero of its type when ``|x| < tiny`` (see ``kernels.cpu.optim``).

    The zero is ``x - x``, not ``x * 0``: an integer literal would type the result as
    float64, and a float32 optimiser loop would then run (unvectorised) in float64.
    NaN and ±inf pass through (``abs(x) < tiny`` is false for them).
    """
    return x if not abs(x) < tiny else x - x


def softmax_exp(x):
    """``exp(x)`` for the softmax's exponents ``x = s - max(s) ≤ 0``.

    CUDA and float64 use the library ``exp``; the CPU's float32 overload is
    :func:`_exp_float32`, which vectorises.
    """
    return math.exp(x)


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the low 32 bits of the integer ``bits``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        word = args[0]
        if bits.bitwidth > 32:
            word = builder.trunc(word, ir.IntType(32))
        return builder.bitcast(word, ir.FloatType())

    return types.float32(bits), codegen


_F32 = np.float32
_EXP_LOWEST = _F32(-87.33654)  # log of the smallest normal float32
_LOG2E = _F32(1.4426950408889634)
_ROUND = _F32(12582912.0)  # 1.5 · 2²³: (t + _ROUND) - _ROUND rounds t to an integer
_LN2_HI, _LN2_LO = _F32(0.693359375), _F32(-2.12194440e-4)
_EXP_POLY = tuple(_F32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                    4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))  # fmt: skip
_ZERO32, _ONE32 = _F32(0.0), _F32(1.0)


def _exp_float32(x):
    """``exp(x)`` in float32 within 1 ulp for ``x ≤ 0`` (Cephes' ``expf``: ``2^k e^r``
    with ``|r| ≤ ln2 / 2`` and a degree-7 polynomial; ``2^k`` built from its bits).

    Straight-line arithmetic, unlike a call into libm, so loops over it vectorise (5×
    faster). Results below the smallest normal float32 are 0; NaN stays NaN.
    """
    xc = max(x, _EXP_LOWEST)
    k = (xc * _LOG2E + _ROUND) - _ROUND
    r = (xc - k * _LN2_HI) - k * _LN2_LO
    c0, c1, c2, c3, c4, c5 = _EXP_POLY
    poly = ((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5
    e_r = (poly * (r * r) + r) + _ONE32
    two_k = _float32_from_bits((np.int64(k) + 127) << 23)
    return e_r * two_k if x >= _EXP_LOWEST else (_ZERO32 if x == x else x)


@overload(softmax_exp, target="cpu", jit_options={"cache": True})
def _softmax_exp_cpu(x):
    if x == types.float32:
        return _exp_float32
    return lambda x: math.exp(x)


@register_jitable
def normalise_row(a, i):
    """Divide row ``i`` of ``a`` by its sum (summed in order); returns the sum."""
    total = 0.0
    for j in range(a.shape[1]):
        total += a[i, j]
    inv = 1.0 / total
    for j in range(a.shape[1]):
        a[i, j] *= inv
    return total


@register_jitable
def row_prediction(loss, z, a, i):
    """Predictions ``a[i]`` from the output pre-activations ``z[i]`` of row ``i``.

    Returns the softmax's log-sum-exp ``log Σ_j exp(z[i, j])``, which :func:`row_loss`
    needs (so the exponentials are computed once), and 0 for the other losses.
    """
    k = z.shape[1]
    if loss == SOFTMAX_CROSS_ENTROPY:
        zmax = z[i, 0]
        for j in range(1, k):
            zmax = max(zmax, z[i, j])
        for j in range(k):
            a[i, j] = softmax_exp(z[i, j] - zmax)
        return zmax + math.log(normalise_row(a, i))
    if loss == BINARY_CROSS_ENTROPY:
        for j in range(k):
            a[i, j] = sigmoid(z[i, j])
    elif loss == SQUARED_ERROR:
        for j in range(k):
            a[i, j] = z[i, j]
    elif loss == POISSON:
        for j in range(k):
            a[i, j] = math.exp(z[i, j])
    else:
        half = k // 2
        for j in range(half):
            a[i, j] = z[i, j]
            a[i, half + j] = softplus(z[i, half + j]) + MIN_VARIANCE
    return 0.0


@register_jitable
def log_loss_cap(z):
    """``-log(eps)`` of ``z``'s float type, the largest term of a reported log-loss:
    scikit-learn clips predicted probabilities to ``[eps, 1 - eps]`` when it reports it
    (the gradient is not clipped)."""
    return -np.log(np.finfo(z.dtype).eps)


@register_jitable
def row_loss(loss, z, a, y, w, delta, i, lse):
    """Weighted loss ``w ℓ_i`` of row ``i`` (predictions ``a[i]`` already filled, ``lse``
    what :func:`row_prediction` returned); writes the weighted deltas ``delta[i]``. The
    CPU and CUDA loss kernels share this code."""
    k = z.shape[1]
    row = 0.0
    if loss == SOFTMAX_CROSS_ENTROPY:
        cap = log_loss_cap(z)
        ysum = 0.0
        for j in range(k):
            ysum += y[i, j]
        for j in range(k):
            row += y[i, j] * min(lse - z[i, j], cap)
            delta[i, j] = w * (a[i, j] * ysum - y[i, j])
    elif loss == BINARY_CROSS_ENTROPY:
        cap = log_loss_cap(z)
        for j in range(k):
            # softplus(z) - y z, each of its two log terms clipped as scikit-learn's
            t = y[i, j]
            row += t * min(softplus(-z[i, j]), cap) + (1.0 - t) * min(softplus(z[i, j]), cap)
            delta[i, j] = w * (a[i, j] - y[i, j])
    elif loss == SQUARED_ERROR:
        for j in range(k):
            r = z[i, j] - y[i, j]
            row += 0.5 * r * r
            delta[i, j] = w * r
    elif loss == POISSON:
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
    the other entries become 0 (all of them when ``stop <= 0``).

    The maximum and the sum run as four interleaved chains (combined in a fixed order):
    one chain waits on each addition, and the rows are short (``T``).
    """
    n = s.shape[1]
    if stop <= 0:
        for j in range(n):
            s[i, j] = 0.0
        return
    m0 = m1 = m2 = m3 = s[i, 0]
    j = 0
    while j + 4 <= stop:
        m0 = max(m0, s[i, j])
        m1 = max(m1, s[i, j + 1])
        m2 = max(m2, s[i, j + 2])
        m3 = max(m3, s[i, j + 3])
        j += 4
    peak = max(max(m0, m1), max(m2, m3))
    for rest in range(j, stop):
        peak = max(peak, s[i, rest])
    for j in range(stop):
        s[i, j] = softmax_exp(s[i, j] - peak)
    t0 = t1 = t2 = t3 = 0.0
    j = 0
    while j + 4 <= stop:
        t0 += s[i, j]
        t1 += s[i, j + 1]
        t2 += s[i, j + 2]
        t3 += s[i, j + 3]
        j += 4
    total = (t0 + t1) + (t2 + t3)
    for rest in range(j, stop):
        total += s[i, rest]
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
    q0 = q1 = q2 = q3 = 0.0  # interleaved chains, as in masked_softmax_row
    j = 0
    while j + 4 <= n:
        q0 += p[i, j] * grad[i, j]
        q1 += p[i, j + 1] * grad[i, j + 1]
        q2 += p[i, j + 2] * grad[i, j + 2]
        q3 += p[i, j + 3] * grad[i, j + 3]
        j += 4
    inner = (q0 + q1) + (q2 + q3)
    for rest in range(j, n):
        inner += p[i, rest] * grad[i, rest]
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
