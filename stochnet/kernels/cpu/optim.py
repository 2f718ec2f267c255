"""Optimiser steps, each one fused parallel pass over the flat parameter vector.

The raw gradient sums from back-propagation are turned into the gradient of the
regularised mean loss on the fly::

    g = (grad + alpha * θ + l1 * sign(θ)) / Σw     for the weights  (θ[:n_coef])
    g = grad / Σw                                  for the biases   (θ[n_coef:])

which is scikit-learn's scaling of the L2 penalty ``alpha``. Each step returns
``(Σ θ², Σ |θ|)`` over the weights *before* the update, so the caller can report the
penalised batch loss without another pass.
"""

import math

import numpy as np
from numba import njit, prange

from ..._config import JIT_MATH


@njit(**JIT_MATH)
def regularised_gradient(theta, grad, i, n_coef, alpha, l1, inv_sw):
    """Entry ``i`` of the gradient of the penalised mean loss."""
    g = grad[i]
    if i < n_coef:
        w = theta[i]
        g += alpha * w
        if l1 != 0.0:
            g += l1 * np.sign(w)
    return g * inv_sw


@njit(parallel=True, **JIT_MATH)
def sgd_step(theta, grad, velocity, n_coef, alpha, l1, inv_sw, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum, scikit-learn's update rule::

        v = momentum * v - lr * g
        θ += momentum * v - lr * g   if nesterov else   θ += v
    """
    sq = 0.0
    ab = 0.0
    for i in prange(theta.shape[0]):
        w = theta[i]
        if i < n_coef:
            sq += w * w
            ab += abs(w)
        g = regularised_gradient(theta, grad, i, n_coef, alpha, l1, inv_sw)
        v = momentum * velocity[i] - lr * g
        velocity[i] = v
        if nesterov:
            theta[i] = w + (momentum * v - lr * g)
        else:
            theta[i] = w + v
    return sq, ab


@njit(parallel=True, **JIT_MATH)
def adam_step(theta, grad, m, v, n_coef, alpha, l1, inv_sw, lr, beta1, beta2, eps, t):
    """Adam step number ``t`` (from 1), scikit-learn's form::

        m = β1 m + (1 - β1) g;  v = β2 v + (1 - β2) g²
        θ -= lr √(1 - β2^t) / (1 - β1^t) · m / (√v + ε)
    """
    lr_t = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
    sq = 0.0
    ab = 0.0
    for i in prange(theta.shape[0]):
        w = theta[i]
        if i < n_coef:
            sq += w * w
            ab += abs(w)
        g = regularised_gradient(theta, grad, i, n_coef, alpha, l1, inv_sw)
        mi = beta1 * m[i] + (1.0 - beta1) * g
        vi = beta2 * v[i] + (1.0 - beta2) * g * g
        m[i] = mi
        v[i] = vi
        theta[i] = w - lr_t * mi / (math.sqrt(vi) + eps)
    return sq, ab
