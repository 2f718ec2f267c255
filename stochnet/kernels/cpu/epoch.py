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
def update(state, n_coef, opt, t, loss, sw_sum, rows):
    """Optimiser step from a batch's gradient sums in ``state.grad``, pruning mask
    re-applied.

    Returns the batch's ``rows ×`` weighted mean loss and ``rows ×`` penalty / Σw.
    """
    inv_sw = 1.0 / sw_sum
    theta, state1, state2 = state.theta, state.state1, state.state2
    sq, ab = optimizer_step(theta, state.grad, state1, state2, n_coef, opt, inv_sw, t)
    if state.mask.shape[0] > 0:
        apply_mask(theta, state1, state2, state.mask)
    return loss * inv_sw * rows, (0.5 * opt.alpha * sq + opt.l1 * ab) * inv_sw * rows


@njit(**JIT)
def train_batches(data, state, chunk, plan, work, opt, keys, noise_std, loss_sum, penalty):
    """Run batches ``chunk.first .. chunk.first + chunk.count - 1`` of an epoch over
    ``data.X[data.order]``.

    Parameters
    ----------
    data : ``shared.records.EpochData``
        ``X`` (n × features, the parameter dtype, or a ``CSRMatrix``), ``Y`` (n × targets),
        ``sw`` (sample weights, or empty for unit weights), ``order`` (this epoch's int64
        permutation of ``range(n)``, or empty for the natural order).
    state : ``shared.records.TrainingState``
        ``theta`` and the gradient buffer ``grad``, updated in place; the optimiser state
        ``state1``, ``state2`` (SGD: velocity, unused; Adam: m, v); the pruning ``mask``
        over the weights (``θ[:len(mask)]``), or empty for none.
    chunk : ``shared.records.Chunk``
        ``batch_size``, ``first``, ``count``; ``t0``, the optimiser steps before this call
        (batch ``k`` is Adam's step ``t0 + k + 1``); ``step0``, the random-counter steps
        before it (batch ``k`` draws its dropout masks and noise at ``step0 + k + 1``);
        ``epoch``, the step of the random crops.
    opt : ``engine.optim.OptimConfig``.
    keys : ``shared.records.StreamKeys``: the keys of the dropout, noise and crop
        sources.
    noise_std : float
    loss_sum, penalty : float
        The epoch's running totals from the batches before ``first`` (see Returns).

    Returns
    -------
    loss_sum, penalty : float
        The running totals after these batches: Σ of ``rows ×`` the weighted mean loss,
        and of ``rows × (alpha/2 Σθ² + l1 Σ|θ|) / Σw``, over the epoch's batches so far
        (their sum is scikit-learn's ``Σ batch_loss · rows``). One running sum, batch by
        batch, whatever the chunking: an epoch's loss does not depend on how its batches
        were split into calls (a resumed fit reproduces it bit for bit).
    """
    n = data.order.shape[0] if data.order.shape[0] > 0 else data.Y.shape[0]
    params = read_only(state.theta)
    training = runtime(True)
    for k in range(chunk.count):
        start = (chunk.first + k) * chunk.batch_size
        rows = min(chunk.batch_size, n - start)
        if rows <= 0:
            break
        step = np.uint64(chunk.step0 + k + 1)
        x0 = load_batch(
            data.X, data.order, start, rows, input_block(work, rows), work.sparse, plan.crop,
            training, keys.crop, np.uint64(chunk.epoch),
        )  # fmt: skip
        y, w, sw_sum = load_targets(data.Y, data.sw, data.order, start, rows, work)
        if noise_std > 0.0:
            add_input_noise(x0, noise_std, keys.noise, _NOISE, step)
        forward(params, plan, work, x0, rows, training, keys.dropout, _DROPOUT, step)
        z, a, d = output_blocks(plan, work, rows)
        loss = output_loss(plan.loss, z, a, y, w, d)
        backward(params, state.grad, plan, work, x0, rows, training)
        batch_loss, batch_penalty = update(state, plan.n_coef, opt, chunk.t0 + k + 1, loss,
                                           sw_sum, rows)  # fmt: skip
        loss_sum += batch_loss
        penalty += batch_penalty
    return loss_sum, penalty


@njit(**JIT)
def train_encoder_batches(data, state, chunk, plan, work, opt, keys, noise_std, loss_sum,
                          penalty):  # fmt: skip
    """:func:`train_batches` for an encoder (``data.X`` a ``TokenInput``, ``plan`` an
    ``EncoderPlan``); ``chunk.epoch`` is unused (no crops)."""
    n = data.order.shape[0] if data.order.shape[0] > 0 else data.Y.shape[0]
    params = read_only(state.theta)
    training = runtime(True)
    for k in range(chunk.count):
        start = (chunk.first + k) * chunk.batch_size
        rows = min(chunk.batch_size, n - start)
        if rows <= 0:
            break
        step = np.uint64(chunk.step0 + k + 1)
        with_lengths = encoder.load_tokens(data.X, data.order, start, rows, work)
        lengths = encoder.batch_lengths(work, rows, with_lengths)
        if noise_std > 0.0:
            add_input_noise(work.x[:rows], noise_std, keys.noise, _NOISE, step)
        clear_padding(work.x[:rows], lengths, plan.d_in)
        y, w, sw_sum = load_targets(data.Y, data.sw, data.order, start, rows, work)
        encoder.forward(
            params, plan, work, rows, with_lengths, training, keys.dropout, _DROPOUT, step
        )
        loss = output_loss(plan.loss, work.z[:rows], work.a[:rows], y, w, work.d[:rows])
        encoder.backward(params, state.grad, plan, work, rows, with_lengths, training)
        batch_loss, batch_penalty = update(state, plan.n_coef, opt, chunk.t0 + k + 1, loss,
                                           sw_sum, rows)  # fmt: skip
        loss_sum += batch_loss
        penalty += batch_penalty
    return loss_sum, penalty
