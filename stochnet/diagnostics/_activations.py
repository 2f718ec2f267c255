"""NumPy float64 activations and their derivatives, as the compiled kernels define them
(the diagnostics work on weights in NumPy; the kernels stay the training path)."""

import numpy as np
from scipy.special import erf, expit

from ..kernels.codes import LEAKY_RELU_SLOPE


def _gelu(z):
    return 0.5 * z * (1.0 + erf(z / np.sqrt(2.0)))


def _gelu_prime(z):
    return 0.5 * (1.0 + erf(z / np.sqrt(2.0))) + z * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)


#: name -> (f, f')
ACTIVATIONS = {
    "identity": (lambda z: z, np.ones_like),
    "logistic": (expit, lambda z: expit(z) * (1.0 - expit(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(z.dtype)),
    "leaky_relu": (
        lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
        lambda z: np.where(z > 0, 1.0, LEAKY_RELU_SLOPE),
    ),
    "gelu": (_gelu, _gelu_prime),
    "softplus": (lambda z: np.logaddexp(0.0, z), expit),
}


def check_activation(activation):
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}.")
    return ACTIVATIONS[activation]
