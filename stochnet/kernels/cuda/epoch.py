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


def update(theta, grad, state1, state2, n_coef, opt, t, mask, stats, slot, partial=None):
    """Optimiser step from a batch's gradient sums (``1/Σw`` read from
    ``stats[slot + INV_WEIGHT]``), the weight norms before it written to
    ``stats[slot + SQUARES]`` and ``stats[slot + ABSOLUTE]``, pruning mask re-applied."""
    inv_sw = stats[slot + INV_WEIGHT : slot + INV_WEIGHT + 1]
    optimizer_step(
        theta, grad, state1, state2, n_coef, opt, inv_sw, t, stats, slot + SQUARES, partial
    )
    if mask.shape[0] > 0:
        apply_mask(theta, state1, state2, mask)


def _batch_totals(stats, rows, opt, data, penalty):
    """The CPU loop's running ``(data, penalty)`` from the per-batch statistics on the
    host, added batch by batch to the totals so far."""
    stats = stats.reshape(-1, N_STATS)[: rows.shape[0]]
    scale = stats[:, INV_WEIGHT] * rows
    batch_data = stats[:, LOSS] * scale
    batch_penalty = (0.5 * opt.alpha * stats[:, SQUARES] + opt.l1 * stats[:, ABSOLUTE]) * scale
    for d, p in zip(batch_data.tolist(), batch_penalty.tolist(), strict=True):
        data += d
        penalty += p
    return data, penalty


def _run(batch, n, batch_size, first, count, step0, opt, data, penalty):
    """Run ``batch(k, start, rows, stats, slot, step)`` for batches ``first + k`` of an
    epoch of ``n`` samples, ``k < count``, and add the statistics to the running totals
    ``data, penalty`` as the CPU loop does."""
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
        return data, penalty
    rows = np.array(batch_rows, dtype=np.float64)
    return _batch_totals(stats.copy_to_host(), rows, opt, data, penalty)


def _finish_batch(loss, z, a, y, w, d, work, stats, slot):
    output_loss(loss, z, a, y, w, d, work.losses)
    sums_into(work.losses, z.shape[0], SUM, 1, stats, slot + LOSS, work.partial)


def train_batches(
    X, Y, sw, order, batch_size, first, count, theta, grad, state1, state2,
    plan, work, opt, keys, t0, step0, epoch, noise_std, mask, data, penalty,
):  # fmt: skip
    """Run batches ``first .. first + count - 1`` of an epoch over ``X[order]``: the
    CPU's ``train_batches`` with GPU arrays (``work`` from ``mlp.device_workspace``)."""
    n = order.shape[0] if order.shape[0] > 0 else Y.shape[0]

    def batch(k, start, rows, stats, slot, step):
        x0 = load_batch(X, order, start, rows, input_block(work, rows), None, plan.crop, True,
                        keys.crop, np.uint64(epoch))  # fmt: skip
        y, w = load_targets(Y, sw, order, start, rows, work, stats, slot)
        if noise_std > 0.0:
            add_input_noise(x0, noise_std, keys.noise, _NOISE, step)
        forward(theta, plan, work, x0, rows, True, keys.dropout, _DROPOUT, step)
        z, a, d = output_blocks(plan, work, rows)
        _finish_batch(plan.loss, z, a, y, w, d, work, stats, slot)
        backward(theta, grad, plan, work, x0, rows, True)
        update(theta, grad, state1, state2, plan.n_coef, opt, t0 + k + 1, mask, stats, slot,
               work.partial)  # fmt: skip

    return _run(batch, n, batch_size, first, count, step0, opt, data, penalty)


def train_encoder_batches(
    X, Y, sw, order, batch_size, first, count, theta, grad, state1, state2,
    plan, work, opt, keys, t0, step0, epoch, noise_std, mask, data, penalty,
):  # fmt: skip
    """:func:`train_batches` for an encoder (``X`` a ``TokenInput`` of GPU arrays,
    ``work`` from ``encoder.device_workspace``); ``epoch`` is unused (no crops)."""
    n = order.shape[0] if order.shape[0] > 0 else Y.shape[0]

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
        update(theta, grad, state1, state2, plan.n_coef, opt, t0 + k + 1, mask, stats, slot,
               work.partial)  # fmt: skip

    return _run(batch, n, batch_size, first, count, step0, opt, data, penalty)
