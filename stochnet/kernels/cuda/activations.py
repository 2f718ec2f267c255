"""Hidden-layer activations and their derivatives on the GPU, on flat arrays, in place
(see ``kernels.cpu.activations``; the same formulas, one element per thread)."""

import math

from numba import cuda

from ..codes import LEAKY_RELU_SLOPE
from ..cpu.activations import _INV_SQRT2, _INV_SQRT_2PI
from ..math_source import sigmoid, softplus
from .launch import cuda_kernel, launch


@cuda.jit(device=True)
def _value(code, z):
    if code == 1:
        return sigmoid(z)
    if code == 2:
        return math.tanh(z)
    if code == 3:
        return max(z, 0.0)
    if code == 4:
        return z if z > 0.0 else LEAKY_RELU_SLOPE * z
    if code == 5:
        return 0.5 * z * (1.0 + math.erf(z * _INV_SQRT2))
    if code == 6:
        return softplus(z)
    return z


@cuda.jit(device=True)
def _slope(code, z):
    if code == 1:
        s = sigmoid(z)
        return s * (1.0 - s)
    if code == 2:
        t = math.tanh(z)
        return 1.0 - t * t
    if code == 3:
        return 1.0 if z > 0.0 else 0.0
    if code == 4:
        return 1.0 if z > 0.0 else LEAKY_RELU_SLOPE
    if code == 5:
        cdf = 0.5 * (1.0 + math.erf(z * _INV_SQRT2))
        return cdf + z * _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if code == 6:
        return sigmoid(z)
    return 1.0


@cuda_kernel
def _activate(code, z, a):
    for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
        a[i] = _value(code, z[i])


@cuda_kernel
def _activation_backward(code, z, delta):
    for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
        if code == 3:  # exact zeros, as on the CPU (no 0 * inf)
            if z[i] <= 0.0:
                delta[i] = 0.0
        else:
            delta[i] *= _slope(code, z[i])


def activate(code, z, a):
    """``a = f(z)`` elementwise for the activation ``code`` (see ``codes.ACTIVATIONS``)."""
    launch(_activate, z.shape[0], code, z, a, writes=(2,))


def activation_backward(code, z, delta):
    """``delta *= f'(z)`` elementwise (derivatives from the pre-activation ``z``)."""
    if code != 0:
        launch(_activation_backward, z.shape[0], code, z, delta, writes=(2,))
