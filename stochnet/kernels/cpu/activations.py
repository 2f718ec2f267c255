"""Hidden-layer activations and their derivatives, on flat arrays, in place."""

import math

from numba import njit

from ..._config import JIT_MATH
from ..codes import LEAKY_RELU_SLOPE
from ..math_source import sigmoid, softplus

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@njit(**JIT_MATH)
def activate(code, z, a):
    """``a = f(z)`` elementwise for the activation ``code`` (see ``codes.ACTIVATIONS``)."""
    n = z.shape[0]
    if code == 0:
        for i in range(n):
            a[i] = z[i]
    elif code == 1:
        for i in range(n):
            a[i] = sigmoid(z[i])
    elif code == 2:
        for i in range(n):
            a[i] = math.tanh(z[i])
    elif code == 3:
        for i in range(n):
            a[i] = max(z[i], 0.0)
    elif code == 4:
        for i in range(n):
            a[i] = z[i] if z[i] > 0.0 else LEAKY_RELU_SLOPE * z[i]
    elif code == 5:
        for i in range(n):
            a[i] = 0.5 * z[i] * (1.0 + math.erf(z[i] * _INV_SQRT2))
    elif code == 6:
        for i in range(n):
            a[i] = softplus(z[i])


@njit(**JIT_MATH)
def activation_backward(code, z, delta):
    """``delta *= f'(z)`` elementwise (derivatives from the pre-activation ``z``)."""
    n = z.shape[0]
    if code == 1:
        for i in range(n):
            s = sigmoid(z[i])
            delta[i] *= s * (1.0 - s)
    elif code == 2:
        for i in range(n):
            t = math.tanh(z[i])
            delta[i] *= 1.0 - t * t
    elif code == 3:
        for i in range(n):
            if z[i] <= 0.0:
                delta[i] = 0.0
    elif code == 4:
        for i in range(n):
            if z[i] <= 0.0:
                delta[i] *= LEAKY_RELU_SLOPE
    elif code == 5:
        for i in range(n):
            x = z[i]
            cdf = 0.5 * (1.0 + math.erf(x * _INV_SQRT2))
            delta[i] *= cdf + x * _INV_SQRT_2PI * math.exp(-0.5 * x * x)
    elif code == 6:
        for i in range(n):
            delta[i] *= sigmoid(z[i])
