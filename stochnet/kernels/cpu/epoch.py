"""The compiled training loops: many mini-batches per call, no Python in between.

For each batch: gather rows (in ``order``) into the workspace, add input noise, forward
with dropout, fused loss and output delta, backward, and one fused optimiser pass.
``train_batches`` trains an MLP, ``train_encoder_batches`` an attention encoder; both
take the same arguments (see ``train_batches``).
"""

import numpy as np
from numba import njit

from ..._config import JIT
from ..codes import STREAMS
from . import encoder
from .batch import load_targets
from .inputs import add_input_noise, load_batch
from .losses import output_loss
from .mlp import backward, forward, input_block, output_blocks
from .optim import optimizer_step
from .prune import apply_mask
from .specialise import read_only, runtime
from .tokens import clear_padding

_NOISE = np.uint64(STREAMS["noise"])
_DROPOUT = np.uint64(STREAMS["dropout"])


@njit(**JIT)
def update(theta, grad, state1, state2, n_coef, opt, t, mask, loss, sw_sum, rows):
    """Optimiser step from a batch's gradient sums, pruning mask re-applied.

    Returns the batch's ``rows ×`` weighted mean loss and ``rows ×`` penalty / Σw.
    """
    inv_sw = 1.0 / sw_sum
    sq, ab = optimizer_step(theta, grad, state1, state2, n_coef, opt, inv_sw, t)
    if mask.shape[0] > 0:
        apply_mask(theta, state1, state2, mask)
    return loss * inv_sw * rows, (0.5 * opt.alpha * sq + opt.l1 * ab) * inv_sw * rows


@njit(**JIT)
def train_batches(
    X, Y, sw, order, batch_size, first, count, theta, grad, state1, state2,
    plan, work, opt, keys, t0, step0, epoch, noise_std, mask, data, penalty,
):  # fmt: skip
    """Run batches ``first .. first + count - 1`` of an epoch over ``X[order]``.

    Parameters
    ----------
    X : 2-D array (n × features) of the parameter dtype, or ``shared.records.CSRMatrix``.
    Y : 2-D array (n × targets) of the parameter dtype.
    sw : 1-D sample weights, or empty for unit weights.
    order : int64 permutation of ``range(n)`` (this epoch's order), or empty for
        the natural order.
    state1, state2 : optimiser state (SGD: velocity, unused; Adam: m, v).
    opt : ``engine.optim.OptimConfig``.
    keys : ``shared.records.StreamKeys``: the keys of the dropout, noise and crop
        sources.
    t0 : optimiser steps taken before this call; batch ``k`` is Adam's step
        ``t0 + k + 1``.
    step0 : random-counter steps taken before this call; batch ``k`` draws its
        dropout masks and noise at step ``step0 + k + 1``.
    epoch : the epoch number, the step of the random crops.
    mask : pruning mask over the weights (``θ[:len(mask)]``), or empty for none.
    data, penalty : float
        The epoch's running totals from the batches before ``first`` (see Returns).

    Returns
    -------
    data, penalty : float
        The running totals after these batches: Σ of ``rows ×`` the weighted mean loss,
        and of ``rows × (alpha/2 Σθ² + l1 Σ|θ|) / Σw``, over the epoch's batches so far
        (their sum is scikit-learn's ``Σ batch_loss · rows``). One running sum, batch by
        batch, whatever the chunking: an epoch's loss does not depend on how its batches
        were split into calls (a resumed fit reproduces it bit for bit).
    """
    n = order.shape[0] if order.shape[0] > 0 else Y.shape[0]
    params = read_only(theta)
    training = runtime(True)
    for k in range(count):
        start = (first + k) * batch_size
        rows = min(batch_size, n - start)
        if rows <= 0:
            break
        t = t0 + k + 1
        step = np.uint64(step0 + k + 1)
        x0 = load_batch(
            X, order, start, rows, input_block(work, rows), work.sparse, plan.crop, training,
            keys.crop, np.uint64(epoch),
        )  # fmt: skip
        y, w, sw_sum = load_targets(Y, sw, order, start, rows, work)
        if noise_std > 0.0:
            add_input_noise(x0, noise_std, keys.noise, _NOISE, step)
        forward(params, plan, work, x0, rows, training, keys.dropout, _DROPOUT, step)
        z, a, d = output_blocks(plan, work, rows)
        loss = output_loss(plan.loss, z, a, y, w, d)
        backward(params, grad, plan, work, x0, rows, training)
        batch_data, batch_penalty = update(
            theta, grad, state1, state2, plan.n_coef, opt, t, mask, loss, sw_sum, rows
        )
        data += batch_data
        penalty += batch_penalty
    return data, penalty


@njit(**JIT)
def train_encoder_batches(
    X, Y, sw, order, batch_size, first, count, theta, grad, state1, state2,
    plan, work, opt, keys, t0, step0, epoch, noise_std, mask, data, penalty,
):  # fmt: skip
    """:func:`train_batches` for an encoder (``X`` a ``TokenInput``, ``plan`` an
    ``EncoderPlan``); ``epoch`` is unused (no crops)."""
    n = order.shape[0] if order.shape[0] > 0 else Y.shape[0]
    params = read_only(theta)
    training = runtime(True)
    for k in range(count):
        start = (first + k) * batch_size
        rows = min(batch_size, n - start)
        if rows <= 0:
            break
        step = np.uint64(step0 + k + 1)
        with_lengths = encoder.load_tokens(X, order, start, rows, work)
        lengths = encoder.batch_lengths(work, rows, with_lengths)
        if noise_std > 0.0:
            add_input_noise(work.x[:rows], noise_std, keys.noise, _NOISE, step)
        clear_padding(work.x[:rows], lengths, plan.d_in)
        y, w, sw_sum = load_targets(Y, sw, order, start, rows, work)
        encoder.forward(
            params, plan, work, rows, with_lengths, training, keys.dropout, _DROPOUT, step
        )
        loss = output_loss(plan.loss, work.z[:rows], work.a[:rows], y, w, work.d[:rows])
        encoder.backward(params, grad, plan, work, rows, with_lengths, training)
        batch_data, batch_penalty = update(
            theta, grad, state1, state2, plan.n_coef, opt, t0 + k + 1, mask, loss, sw_sum, rows
        )
        data += batch_data
        penalty += batch_penalty
    return data, penalty
