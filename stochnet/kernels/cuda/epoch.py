"""The training loop on the GPU (see ``kernels.cpu.epoch``): the same batches, random
streams and update rules; the host only launches kernels.

Everything a batch needs lives on the GPU: data, order, parameters, optimiser state,
the workspace. The per-batch scalars (loss sum, ``Σw``, weight norms, ``1/Σw``) are
written to a GPU array and read back once per call, so the host never waits for the
GPU between batches.
"""

import numpy as np

from ..codes import STREAMS
from . import encoder
from .arrays import device_array
from .batch import ABSOLUTE, INV_WEIGHT, LOSS, N_STATS, SQUARES, load_targets
from .inputs import add_input_noise, load_batch
from .losses import output_loss
from .mlp import backward, forward, input_block, output_blocks
from .optim import optimizer_step
from .prune import apply_mask
from .reduce import SUM, sums_into
from .tokens import clear_padding

_NOISE = np.uint64(STREAMS["noise"])
_DROPOUT = np.uint64(STREAMS["dropout"])


def update(state, n_coef, opt, t, stats, slot, partial=None):
    """Optimiser step from a batch's gradient sums in ``state.grad`` (``1/Σw`` read from
    ``stats[slot + INV_WEIGHT]``), the weight norms before it written to
    ``stats[slot + SQUARES]`` and ``stats[slot + ABSOLUTE]``, pruning mask re-applied."""
    inv_sw = stats[slot + INV_WEIGHT : slot + INV_WEIGHT + 1]
    theta, state1, state2 = state.theta, state.state1, state.state2
    optimizer_step(
        theta, state.grad, state1, state2, n_coef, opt, inv_sw, t, stats, slot + SQUARES, partial
    )
    if state.mask.shape[0] > 0:
        apply_mask(theta, state1, state2, state.mask)


def _batch_totals(stats, rows, opt, loss_sum, penalty):
    """The CPU loop's running ``(loss_sum, penalty)`` from the per-batch statistics on
    the host, added batch by batch to the totals so far."""
    stats = stats.reshape(-1, N_STATS)[: rows.shape[0]]
    scale = stats[:, INV_WEIGHT] * rows
    batch_loss = stats[:, LOSS] * scale
    batch_penalty = (0.5 * opt.alpha * stats[:, SQUARES] + opt.l1 * stats[:, ABSOLUTE]) * scale
    for d, p in zip(batch_loss.tolist(), batch_penalty.tolist(), strict=True):
        loss_sum += d
        penalty += p
    return loss_sum, penalty


def _one_chunk(epochs):
    """The GPU loop runs a chunk of one epoch per call: the trainer closes the epochs
    (whole epochs per call spare the CPU's Python between epochs, not the GPU's)."""
    if epochs.losses.shape[0] > 0:
        raise ValueError("The GPU training loop runs one epoch's batches per call.")


def _run(batch, data, chunk, opt, loss_sum, penalty):
    """Run ``batch(k, start, rows, stats, slot, step)`` for the batches of ``chunk`` and
    add the statistics to the running totals ``loss_sum, penalty`` as the CPU loop
    does; returns them and 0 (no epoch closed)."""
    n = data.order.shape[0] if data.order.shape[0] > 0 else data.Y.shape[0]
    batch_size, first, count, step0 = chunk.batch_size, chunk.first, chunk.count, chunk.step0
    stats = device_array(count * N_STATS, dtype=np.float64)
    batch_rows = []
    for k in range(count):
        start = (first + k) * batch_size
        rows = min(batch_size, n - start)
        if rows <= 0:
            break
        batch(k, start, rows, stats, k * N_STATS, np.uint64(step0 + k + 1))
        batch_rows.append(rows)
    if not batch_rows:
        return loss_sum, penalty, 0
    rows = np.array(batch_rows, dtype=np.float64)
    return (*_batch_totals(stats.copy_to_host(), rows, opt, loss_sum, penalty), 0)


def _finish_batch(loss, z, a, y, w, d, work, stats, slot):
    output_loss(loss, z, a, y, w, d, work.losses)
    sums_into(work.losses, z.shape[0], SUM, 1, stats, slot + LOSS, work.partial)


def train_batches(data, state, chunk, plan, work, opt, keys, noise_std, loss_sum, penalty,
                  epochs):  # fmt: skip
    """Run batches ``chunk.first .. chunk.first + chunk.count - 1`` of an epoch over
    ``data.X[data.order]``: the CPU's ``train_batches`` with GPU arrays (``work`` from
    ``mlp.device_workspace``); ``epochs`` must be empty (:func:`_one_chunk`)."""
    _one_chunk(epochs)
    X, Y, sw, order = data
    theta, grad = state.theta, state.grad

    def batch(k, start, rows, stats, slot, step):
        x0 = load_batch(X, order, start, rows, input_block(work, rows), None, plan.crop, True,
                        keys.crop, np.uint64(chunk.epoch))  # fmt: skip
        y, w = load_targets(Y, sw, order, start, rows, work, stats, slot)
        if noise_std > 0.0:
            add_input_noise(x0, noise_std, keys.noise, _NOISE, step)
        forward(theta, plan, work, x0, rows, True, keys.dropout, _DROPOUT, step)
        z, a, d = output_blocks(plan, work, rows)
        _finish_batch(plan.loss, z, a, y, w, d, work, stats, slot)
        backward(theta, grad, plan, work, x0, rows, True)
        update(state, plan.n_coef, opt, chunk.t0 + k + 1, stats, slot, work.partial)

    return _run(batch, data, chunk, opt, loss_sum, penalty)


def train_encoder_batches(data, state, chunk, plan, work, opt, keys, noise_std, loss_sum,
                          penalty, epochs):  # fmt: skip
    """:func:`train_batches` for an encoder (``data.X`` a ``TokenInput`` of GPU arrays,
    ``work`` from ``encoder.device_workspace``); ``chunk.epoch`` is unused (no crops)."""
    _one_chunk(epochs)
    X, Y, sw, order = data
    theta, grad = state.theta, state.grad

    def batch(k, start, rows, stats, slot, step):
        with_lengths = encoder.load_tokens(X, order, start, rows, work)
        lengths = encoder.batch_lengths(work, rows, with_lengths)
        if noise_std > 0.0:
            add_input_noise(work.x[:rows], noise_std, keys.noise, _NOISE, step)
        clear_padding(work.x[:rows], lengths, plan.d_in)
        y, w = load_targets(Y, sw, order, start, rows, work, stats, slot)
        encoder.forward(theta, plan, work, rows, with_lengths, True, keys.dropout, _DROPOUT, step)
        _finish_batch(
            plan.loss, work.z[:rows], work.a[:rows], y, w, work.d[:rows], work, stats, slot
        )
        encoder.backward(theta, grad, plan, work, rows, with_lengths, True)
        update(state, plan.n_coef, opt, chunk.t0 + k + 1, stats, slot, work.partial)

    return _run(batch, data, chunk, opt, loss_sum, penalty)
