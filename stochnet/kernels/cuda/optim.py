"""Optimiser steps on the GPU, one fused elementwise pass (see ``kernels.cpu.optim``:
the same update rules, penalties, dtype handling and flushing of tiny values).

``inv_sw`` (``1 / Σw`` of the batch) is read from a GPU array, so a training loop
can compute it on the GPU and never wait for the host.
"""

import math

import numpy as np
from numba import cuda

from ..codes import SGD
from ..shared.math_source import cast_like, flush_threshold, flushed
from .launch import Transfer, cuda_kernel, grid
from .reduce import SQUARES, sums_into


@cuda.jit(device=True)
def _sign(w):
    return 1.0 if w > 0 else (-1.0 if w < 0 else 0.0)


@cuda.jit(device=True)
def _gradient(theta, grad, i, n_coef, scale, alpha_s, l1_s):
    if i < n_coef:
        w = theta[i]
        return grad[i] * scale + alpha_s * w + l1_s * cast_like(theta, _sign(w))
    return grad[i] * scale


@cuda_kernel
def _sgd(theta, grad, velocity, n_coef, alpha, l1, inv_sw, lr, momentum, nesterov):
    scale = cast_like(theta, inv_sw[0])
    alpha_s = cast_like(theta, alpha * inv_sw[0])
    l1_s = cast_like(theta, l1 * inv_sw[0])
    lr_ = cast_like(theta, lr)
    mu = cast_like(theta, momentum)
    nest = cast_like(theta, 1.0 if nesterov else 0.0)
    keep = cast_like(theta, 0.0 if nesterov else 1.0)
    tiny = flush_threshold(theta)
    for i in range(cuda.grid(1), theta.shape[0], cuda.gridsize(1)):
        g = _gradient(theta, grad, i, n_coef, scale, alpha_s, l1_s)
        vel = flushed(mu * velocity[i] - lr_ * g, tiny)
        velocity[i] = vel
        theta[i] = flushed(theta[i] + nest * (mu * vel - lr_ * g) + keep * vel, tiny)


@cuda_kernel
def _adam(theta, grad, m, v, n_coef, alpha, l1, inv_sw, lr_t, beta1, beta2, eps):
    scale = cast_like(theta, inv_sw[0])
    alpha_s = cast_like(theta, alpha * inv_sw[0])
    l1_s = cast_like(theta, l1 * inv_sw[0])
    lr = cast_like(theta, lr_t)
    b1 = cast_like(theta, beta1)
    c1 = cast_like(theta, 1.0 - beta1)
    b2 = cast_like(theta, beta2)
    c2 = cast_like(theta, 1.0 - beta2)
    e = cast_like(theta, eps)
    tiny = flush_threshold(theta)
    for i in range(cuda.grid(1), theta.shape[0], cuda.gridsize(1)):
        g = _gradient(theta, grad, i, n_coef, scale, alpha_s, l1_s)
        mi = flushed(b1 * m[i] + c1 * g, tiny)
        vi = flushed(b2 * v[i] + c2 * g * g, tiny)
        m[i] = mi
        v[i] = vi
        theta[i] = flushed(theta[i] - lr * mi / (math.sqrt(vi) + e), tiny)


def _inverse_weight(transfer, inv_sw):
    if isinstance(inv_sw, float | np.floating | int):
        return transfer.device(np.array([inv_sw], dtype=np.float64), write=False)
    return inv_sw


def weight_norms(theta, n_coef, out=None, slot=0, partial=None):
    """``(Σ θ², Σ |θ|)`` over ``theta[:n_coef]`` in float64: returned to the host, or,
    given a float64 GPU array ``out``, written to ``out[slot : slot + 2]`` (``partial``:
    scratch from ``reduce.partials``)."""
    transfer = Transfer()
    d_theta = transfer.device(theta, write=False)
    target = cuda.device_array(2, dtype=np.float64) if out is None else out
    # Columns SQUARES and ABSOLUTE, adjacent.
    sums_into(d_theta, n_coef, SQUARES, 2, target, 0 if out is None else slot, partial)
    if out is None:
        sq, ab = target.copy_to_host()
        return float(sq), float(ab)
    return None


def sgd_step(theta, grad, velocity, n_coef, alpha, l1, inv_sw, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum, scikit-learn's rule (no norms returned; see
    :func:`weight_norms`). ``inv_sw`` a float or a one-element GPU array."""
    transfer = Transfer()
    arrays = [transfer.device(theta), transfer.device(grad, write=False), transfer.device(velocity)]
    blocks, threads = grid(theta.shape[0])
    _sgd[blocks, threads](*arrays, np.int64(n_coef), np.float64(alpha), np.float64(l1),
                          _inverse_weight(transfer, inv_sw), np.float64(lr),
                          np.float64(momentum), bool(nesterov))  # fmt: skip
    transfer.copy_back()


def adam_step(theta, grad, m, v, n_coef, alpha, l1, inv_sw, lr, beta1, beta2, eps, t):
    """Adam step number ``t`` (from 1), scikit-learn's form (no norms returned)."""
    transfer = Transfer()
    arrays = [
        transfer.device(theta),
        transfer.device(grad, write=False),
        transfer.device(m),
        transfer.device(v),
    ]
    lr_t = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
    blocks, threads = grid(theta.shape[0])
    _adam[blocks, threads](*arrays, np.int64(n_coef), np.float64(alpha), np.float64(l1),
                           _inverse_weight(transfer, inv_sw), np.float64(lr_t),
                           np.float64(beta1), np.float64(beta2), np.float64(eps))  # fmt: skip
    transfer.copy_back()


def optimizer_step(
    theta, grad, state1, state2, n_coef, opt, inv_sw, t, norms=None, slot=0, partial=None
):
    """One step of ``opt`` (``engine.optim.OptimConfig``), as the CPU's. Returns the
    weight norms before the update, or writes them to ``norms[slot : slot + 2]`` on the
    GPU when given (then returns ``None``)."""
    result = weight_norms(theta, n_coef, norms, slot, partial)
    if opt.kind == SGD:
        sgd_step(theta, grad, state1, n_coef, opt.alpha, opt.l1, inv_sw, opt.lr,
                 opt.momentum, opt.nesterov)  # fmt: skip
    else:
        adam_step(theta, grad, state1, state2, n_coef, opt.alpha, opt.l1, inv_sw, opt.lr,
                  opt.beta1, opt.beta2, opt.eps, t)  # fmt: skip
    return result
