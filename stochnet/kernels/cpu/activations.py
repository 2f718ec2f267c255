"""Hidden-layer activations and their derivatives, on flat arrays, in place.

The formulas are ``shared.math_source``'s, one loop per activation (a branch outside
the loop, so each loop vectorises).
"""

import math

from numba import njit

from ..._config import JIT_MATH
from ..codes import GELU, IDENTITY, LEAKY_RELU, LEAKY_RELU_SLOPE, LOGISTIC, RELU, SOFTPLUS, TANH
from ..shared.math_source import (
    gelu,
    gelu_slope,
    leaky_relu,
    logistic_slope,
    sigmoid,
    softplus,
    tanh_slope,
)


@njit(**JIT_MATH)
def activate(code, z, a):
    """``a = f(z)`` elementwise for the activation ``code`` (see ``codes.ACTIVATIONS``)."""
    n = z.shape[0]
    if code == IDENTITY:
        for i in range(n):
            a[i] = z[i]
    elif code == LOGISTIC:
        for i in range(n):
            a[i] = sigmoid(z[i])
    elif code == TANH:
        for i in range(n):
            a[i] = math.tanh(z[i])
    elif code == RELU:
        for i in range(n):
            a[i] = max(z[i], 0.0)
    elif code == LEAKY_RELU:
        for i in range(n):
            a[i] = leaky_relu(z[i])
    elif code == GELU:
        for i in range(n):
            a[i] = gelu(z[i])
    elif code == SOFTPLUS:
        for i in range(n):
            a[i] = softplus(z[i])


@njit(**JIT_MATH)
def activation_backward(code, z, delta):
    """``delta *= f'(z)`` elementwise (derivatives from the pre-activation ``z``)."""
    n = z.shape[0]
    if code == LOGISTIC:
        for i in range(n):
            delta[i] *= logistic_slope(z[i])
    elif code == TANH:
        for i in range(n):
            delta[i] *= tanh_slope(z[i])
    elif code == RELU:
        for i in range(n):
            if z[i] <= 0.0:
                delta[i] = 0.0  # exact zeros (no 0 * inf)
    elif code == LEAKY_RELU:
        for i in range(n):
            if z[i] <= 0.0:
                delta[i] *= LEAKY_RELU_SLOPE
    elif code == GELU:
        for i in range(n):
            delta[i] *= gelu_slope(z[i])
    elif code == SOFTPLUS:
        for i in range(n):
            delta[i] *= sigmoid(z[i])
