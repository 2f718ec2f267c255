"""Hidden-layer activations and their derivatives on the GPU, on flat arrays, in place
(``shared.math_source``'s formulas, as on the CPU; one element per thread)."""

from numba import cuda

from ..codes import IDENTITY, RELU
from ..shared.math_source import activation, activation_slope
from .launch import cuda_kernel, launch


@cuda_kernel
def _activate(code, z, a):
    for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
        a[i] = activation(code, z[i])


@cuda_kernel
def _activation_backward(code, z, delta):
    for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
        if code == RELU:  # exact zeros, as on the CPU (no 0 * inf)
            if z[i] <= 0.0:
                delta[i] = 0.0
        else:
            delta[i] *= activation_slope(code, z[i])


def activate(code, z, a):
    """``a = f(z)`` elementwise for the activation ``code`` (see ``codes.ACTIVATIONS``)."""
    launch(_activate, z.shape[0], code, z, a, writes=(2,))


def activation_backward(code, z, delta):
    """``delta *= f'(z)`` elementwise (derivatives from the pre-activation ``z``)."""
    if code != IDENTITY:
        launch(_activation_backward, z.shape[0], code, z, delta, writes=(2,))
