"""Optimiser steps, each one fused parallel pass over the flat parameter vector.

The raw gradient sums from back-propagation are turned into the gradient of the
regularised mean loss on the fly::

    g = (grad + alpha * θ + l1 * sign(θ)) / Σw     for the weights  (θ[:n_coef])
    g = grad / Σw                                  for the biases   (θ[n_coef:])

which is scikit-learn's scaling of the L2 penalty ``alpha``. Each step returns
``(Σ θ², Σ |θ|)`` over the weights *before* the update, so the caller can report the
penalised batch loss without another pass. Arithmetic runs in the parameters' dtype
(float32 stays float32 and vectorises); the sums accumulate in float64.

Optimiser state and parameters below :func:`flush_threshold` are set to exactly zero. Without this,
the moments of parameters whose gradient is zero (inputs that are always 0, dead
units) decay geometrically into the subnormal range (after ~700 Adam steps in
float32), where each multiply costs a microcode assist: epochs become 5× slower.
The flushed values would change any update by less than 1e-22.
"""

import math

import numpy as np
from numba import njit, prange

from ..._config import JIT, JIT_MATH
from ..codes import SGD
from ..shared.math_source import cast_like, flush_threshold, flushed
from .threads import in_parallel


@njit(**JIT_MATH)
def _penalised(g, w, scale, alpha_s, l1_s):
    return g * scale + alpha_s * w + l1_s * np.sign(w)


#: Weights per block of the parallel loops; each block's norms are summed by one thread.
BLOCK = 4096


#: Partial sums per block of :func:`weight_norms` (one per lane of a vector loop).
LANES = 64


@njit(**JIT_MATH)
def _block_norms(theta, start, stop, lanes):
    """``(Σ θ², Σ |θ|)`` over ``theta[start:stop]`` in float64, in a fixed order.

    Element ``start + LANES·r + k`` goes to partial sum ``k`` (in ``lanes``, a
    ``2 × LANES`` float64 scratch), rows in order; the partial sums are then combined
    pairwise and the tail added. The loop over ``k`` is element-wise, so it vectorises
    without reassociating anything: the result is the same bits whichever thread runs
    the block and however the code was compiled. (Reduction loops only vectorise with
    ``reassoc``, under which the vectorised and scalar parts of one kernel round
    differently, and a kernel compiled in-process differed from the same kernel read
    from the cache.)
    """
    sq_lanes = lanes[0]
    ab_lanes = lanes[1]
    sq_lanes[:] = 0.0
    ab_lanes[:] = 0.0
    i = start
    while i + LANES <= stop:
        row = theta[i : i + LANES]
        for k in range(LANES):
            w = np.float64(row[k])
            sq_lanes[k] += w * w
            ab_lanes[k] += abs(w)
        i += LANES
    width = LANES
    while width > 1:
        width //= 2
        for k in range(width):
            sq_lanes[k] += sq_lanes[k + width]
            ab_lanes[k] += ab_lanes[k + width]
    sq = sq_lanes[0]
    ab = ab_lanes[0]
    for j in range(i, stop):
        w = np.float64(theta[j])
        sq += w * w
        ab += abs(w)
    return sq, ab


@njit(parallel=True, **JIT_MATH)
def weight_norms(theta, n_coef):
    """``(Σ θ², Σ |θ|)`` over ``theta[:n_coef]``: blocks in parallel, each summed in
    a fixed order, then the blocks in order (the same bits for any thread count)."""
    n_blocks = (n_coef + BLOCK - 1) // BLOCK
    partial = np.empty((n_blocks, 2))
    lanes = np.empty((n_blocks, 2, LANES))
    for b in prange(n_blocks):
        stop = min(n_coef, (b + 1) * BLOCK)
        partial[b, 0], partial[b, 1] = _block_norms(theta, b * BLOCK, stop, lanes[b])
    return _sum_blocks(partial)


@njit(**JIT_MATH)
def _sum_blocks(partial):
    """The blocks' ``(Σ θ², Σ |θ|)`` (rows of ``partial``) added in block order."""
    sq = 0.0
    ab = 0.0
    for b in range(partial.shape[0]):
        sq += partial[b, 0]
        ab += partial[b, 1]
    return sq, ab


@njit(inline="always", **JIT_MATH)
def _update_block(kind, theta, grad, s1, s2, scale, alpha_s, l1_s, coef):
    """One block of the update, on views indexed from 0 (Numba cannot prove a shifted
    index non-negative and would wrap it element by element, keeping the loop scalar).

    ``kind`` 0: SGD, ``coef = (lr, momentum, nesterov, 1 - nesterov, -, -)``, ``s1``
    the velocity; ``kind`` 1: Adam, ``coef = (lr_t, β1, 1 - β1, β2, 1 - β2, ε)``,
    ``s1``, ``s2`` the moments. ``alpha_s = l1_s = 0`` for the biases.
    """
    tiny = flush_threshold(theta)
    if kind == SGD:
        lr, mu, nest, keep = coef[0], coef[1], coef[2], coef[3]
        for i in range(theta.shape[0]):
            w = theta[i]
            g = _penalised(grad[i], w, scale, alpha_s, l1_s)
            vel = flushed(mu * s1[i] - lr * g, tiny)
            s1[i] = vel
            theta[i] = flushed(w + nest * (mu * vel - lr * g) + keep * vel, tiny)
    else:
        lr_t, b1, c1, b2, c2, e = coef
        for i in range(theta.shape[0]):
            w = theta[i]
            g = _penalised(grad[i], w, scale, alpha_s, l1_s)
            mi = flushed(b1 * s1[i] + c1 * g, tiny)
            vi = flushed(b2 * s2[i] + c2 * g * g, tiny)
            s1[i] = mi
            s2[i] = vi
            theta[i] = flushed(w - lr_t * mi / (np.sqrt(vi) + e), tiny)


@njit(**JIT_MATH)
def _step_blocks(
    kind, theta, grad, s1, s2, n_coef, scale, alpha_s, l1_s, coef, partial, lanes, first, last
):
    """Blocks ``first .. last - 1`` of :func:`_step`: each takes its weights' norms
    (:func:`_block_norms`, the blocks of :func:`weight_norms`, so the same bits) into
    ``partial`` and then its update while it is in cache."""
    n = theta.shape[0]
    zero = scale - scale
    for b in range(first, last):
        lo = b * BLOCK
        hi = min(n, lo + BLOCK)
        split = min(max(n_coef, lo), hi)
        if split > lo:
            partial[b, 0], partial[b, 1] = _block_norms(theta, lo, split, lanes[b])
        _update_block(kind, theta[lo:split], grad[lo:split], s1[lo:split], s2[lo:split],
                      scale, alpha_s, l1_s, coef)  # fmt: skip
        _update_block(kind, theta[split:hi], grad[split:hi], s1[split:hi], s2[split:hi],
                      scale, zero, zero, coef)  # fmt: skip


@njit(parallel=True, **JIT_MATH)
def _step_parallel(kind, theta, grad, s1, s2, n_coef, scale, alpha_s, l1_s, coef, partial, lanes):
    for b in prange(partial.shape[0]):
        _step_blocks(
            kind, theta, grad, s1, s2, n_coef, scale, alpha_s, l1_s, coef, partial, lanes, b, b + 1
        )


#: Blocks from which :func:`_step` runs on all threads (see ``threads.in_parallel``):
#: below, a parallel launch costs more than the update.
PARALLEL_BLOCKS = 4


@njit(**JIT_MATH)
def _step(kind, theta, grad, s1, s2, n_coef, inv_sw, alpha, l1, coef):
    """One fused pass over blocks of ``BLOCK`` parameters (in parallel for large
    vectors, see :func:`_step_blocks`). Returns the norms before the update."""
    scale = cast_like(theta, inv_sw)
    alpha_s = cast_like(theta, alpha * inv_sw)
    l1_s = cast_like(theta, l1 * inv_sw)
    n_blocks = (theta.shape[0] + BLOCK - 1) // BLOCK
    partial = np.zeros((n_blocks, 2))
    lanes = np.empty((n_blocks, 2, LANES))
    if in_parallel(n_blocks, PARALLEL_BLOCKS):
        _step_parallel(
            kind, theta, grad, s1, s2, n_coef, scale, alpha_s, l1_s, coef, partial, lanes
        )
    else:
        _step_blocks(
            kind,
            theta,
            grad,
            s1,
            s2,
            n_coef,
            scale,
            alpha_s,
            l1_s,
            coef,
            partial,
            lanes,
            np.int64(0),
            n_blocks,
        )
    return _sum_blocks(partial)


@njit(**JIT_MATH)
def sgd_step(theta, grad, velocity, n_coef, alpha, l1, inv_sw, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum, scikit-learn's update rule::

    v = momentum * v - lr * g
    θ += momentum * v - lr * g   if nesterov else   θ += v
    """
    one = cast_like(theta, 1.0)
    nest = one if nesterov else one - one
    coef = (cast_like(theta, lr), cast_like(theta, momentum), nest, one - nest, one, one)
    return _step(np.int64(0), theta, grad, velocity, velocity, n_coef, inv_sw, alpha, l1, coef)


@njit(**JIT_MATH)
def adam_step(theta, grad, m, v, n_coef, alpha, l1, inv_sw, lr, beta1, beta2, eps, t):
    """Adam step number ``t`` (from 1), scikit-learn's form::

    m = β1 m + (1 - β1) g;  v = β2 v + (1 - β2) g²
    θ -= lr √(1 - β2^t) / (1 - β1^t) · m / (√v + ε)
    """
    coef = (
        cast_like(theta, lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)),
        cast_like(theta, beta1),
        cast_like(theta, 1.0 - beta1),
        cast_like(theta, beta2),
        cast_like(theta, 1.0 - beta2),
        cast_like(theta, eps),
    )
    return _step(np.int64(1), theta, grad, m, v, n_coef, inv_sw, alpha, l1, coef)


@njit(**JIT)
def optimizer_step(theta, grad, state1, state2, n_coef, opt, inv_sw, t):
    """One step of the optimiser ``opt`` (``engine.optim.OptimConfig``): SGD with
    ``state1`` as velocity, or Adam step ``t`` with moments ``state1``, ``state2``.
    Returns the weight norms of :func:`weight_norms` before the update."""
    if opt.kind == SGD:
        return sgd_step(
            theta, grad, state1, n_coef, opt.alpha, opt.l1, inv_sw, opt.lr, opt.momentum,
            opt.nesterov,
        )  # fmt: skip
    return adam_step(
        theta, grad, state1, state2, n_coef, opt.alpha, opt.l1, inv_sw, opt.lr, opt.beta1,
        opt.beta2, opt.eps, t,
    )  # fmt: skip
