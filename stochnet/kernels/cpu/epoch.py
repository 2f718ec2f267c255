"""The compiled training loops: many mini-batches per call, no Python in between.

For each batch: gather rows (in ``order``) into the workspace, add input noise, forward
with dropout, fused loss and output delta, backward, and one fused optimiser pass.
``train_batches`` trains an MLP, ``train_encoder_batches`` an attention encoder; both
take the same arguments (see ``train_batches``). A call runs a chunk of one epoch's
batches, or whole epochs one after another (reshuffled between them, stopped by
scikit-learn's rule on the training loss): small fits then cost one call, not one per
epoch.
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
from .rng import permutation
from .specialise import read_only, runtime
from .tokens import clear_padding

_NOISE = np.uint64(STREAMS["noise"])
_DROPOUT = np.uint64(STREAMS["dropout"])
_SHUFFLE = np.uint64(STREAMS["shuffle"])


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
def _all_finite(x):
    for i in range(x.shape[0]):
        if not np.isfinite(x[i]):
            return False
    return True


@njit(**JIT)
def _after_chunk(epochs, done, loss_sum, penalty, n, theta, order, batches, at, rule):
    """What a kernel does after a chunk of ``batches`` batches at ``at = (t0, step0,
    epoch)``: a chunk call returns; in a call of whole epochs the chunk is epoch
    ``done`` of the call, which closes: its loss (the trainer's formula) goes into
    ``epochs.losses[done]``, and scikit-learn's stopping rule (``rule = (best loss,
    epochs without improvement)``) sees it.

    Returns ``(stop, done, at, rule)`` for the next epoch (its ``order`` shuffled in
    place). ``stop`` when ``losses`` is full, when the loss failed to beat ``best -
    tol`` more than ``n_iter_no_change`` epochs in a row, or when the loss or the
    weights are not finite (the trainer rolls the call back).
    """
    if epochs.losses.shape[0] == 0:
        return True, 0, at, rule
    t0, step0, epoch = at
    best, count = rule
    loss = (epochs.loss_scale * loss_sum + penalty) / n
    epochs.losses[done] = loss
    following = (t0 + batches, step0 + batches, epoch + 1)
    if not (np.isfinite(loss) and _all_finite(theta)):
        return True, done + 1, following, rule
    count = count + 1 if loss > best - epochs.tol else 0
    if loss < best:
        best = loss
    stop = count > epochs.n_iter_no_change or done + 1 == epochs.losses.shape[0]
    if not stop:
        _shuffle(order, epochs, epoch + 1)
    return stop, done + 1, following, (best, count)


@njit(**JIT)
def epoch_order(order, rows, key, epoch):
    """Epoch ``epoch``'s order of the rows, in place: a Philox permutation of
    ``range(len(order))`` (the shuffle stream, step ``epoch``), through ``rows`` when
    given. The one definition of an epoch's order: the trainer draws a call's first
    epoch with it, :func:`train_batches` the epochs after."""
    for i in range(order.shape[0]):
        order[i] = i
    permutation(order, key, _SHUFFLE, epoch)
    if rows.shape[0] > 0:
        for i in range(order.shape[0]):
            order[i] = rows[order[i]]


@njit(**JIT)
def _shuffle(order, epochs, epoch):
    if epochs.shuffle:
        epoch_order(order, epochs.rows, epochs.shuffle_key, np.uint64(epoch))


@njit(**JIT)
def train_batches(data, state, chunk, plan, work, opt, keys, noise_std, loss_sum, penalty,
                  epochs):  # fmt: skip
    """Run batches ``chunk.first .. chunk.first + chunk.count - 1`` of an epoch over
    ``data.X[data.order]``; or, with room in ``epochs.losses``, whole epochs from
    ``chunk.epoch`` on (``chunk`` then covers one epoch: ``first = 0``, ``count`` its
    batches).

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
    epochs : ``shared.records.Epochs``
        Empty ``losses``: run the chunk and return. Otherwise run epochs until
        ``losses`` is full or one closes with a stop (:func:`_after_chunk`); between two,
        ``data.order`` is reshuffled in place and the counters go
        on as the trainer's would.

    Returns
    -------
    loss_sum, penalty : float
        The running totals after these batches: Σ of ``rows ×`` the weighted mean loss,
        and of ``rows × (alpha/2 Σθ² + l1 Σ|θ|) / Σw``, over the epoch's batches so far
        (their sum is scikit-learn's ``Σ batch_loss · rows``). One running sum, batch by
        batch, whatever the chunking: an epoch's loss does not depend on how its batches
        were split into calls (a resumed fit reproduces it bit for bit). After whole
        epochs, those of the last one.
    done : int
        Epochs closed (their losses are ``epochs.losses[:done]``); 0 for a chunk.
    """
    n = data.order.shape[0] if data.order.shape[0] > 0 else data.Y.shape[0]
    params = read_only(state.theta)
    training = runtime(True)
    at = (chunk.t0, chunk.step0, chunk.epoch)
    rule = (epochs.best_loss, epochs.no_improvement)
    done = 0
    while True:
        t0, step0, epoch = at
        for k in range(chunk.count):
            start = (chunk.first + k) * chunk.batch_size
            rows = min(chunk.batch_size, n - start)
            if rows <= 0:
                break
            step = np.uint64(step0 + k + 1)
            x0 = load_batch(
                data.X, data.order, start, rows, input_block(work, rows), work.sparse,
                plan.crop, training, keys.crop, np.uint64(epoch),
            )  # fmt: skip
            y, w, sw_sum = load_targets(data.Y, data.sw, data.order, start, rows, work)
            if noise_std > 0.0:
                add_input_noise(x0, noise_std, keys.noise, _NOISE, step)
            forward(params, plan, work, x0, rows, training, keys.dropout, _DROPOUT, step)
            z, a, d = output_blocks(plan, work, rows)
            loss = output_loss(plan.loss, z, a, y, w, d)
            backward(params, state.grad, plan, work, x0, rows, training)
            batch_loss, batch_penalty = update(state, plan.n_coef, opt, t0 + k + 1, loss,
                                               sw_sum, rows)  # fmt: skip
            loss_sum += batch_loss
            penalty += batch_penalty
        stop, done, at, rule = _after_chunk(epochs, done, loss_sum, penalty, n, state.theta,
                                            data.order, chunk.count, at, rule)  # fmt: skip
        if stop:
            return loss_sum, penalty, done
        loss_sum = penalty = 0.0


@njit(**JIT)
def train_encoder_batches(data, state, chunk, plan, work, opt, keys, noise_std, loss_sum,
                          penalty, epochs):  # fmt: skip
    """:func:`train_batches` for an encoder (``data.X`` a ``TokenInput``, ``plan`` an
    ``EncoderPlan``); no crops, so the epoch only numbers the reshuffles between whole
    epochs."""
    n = data.order.shape[0] if data.order.shape[0] > 0 else data.Y.shape[0]
    params = read_only(state.theta)
    training = runtime(True)
    at = (chunk.t0, chunk.step0, chunk.epoch)
    rule = (epochs.best_loss, epochs.no_improvement)
    done = 0
    while True:
        t0, step0, _ = at  # no crops: the epoch is not drawn from
        for k in range(chunk.count):
            start = (chunk.first + k) * chunk.batch_size
            rows = min(chunk.batch_size, n - start)
            if rows <= 0:
                break
            step = np.uint64(step0 + k + 1)
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
            batch_loss, batch_penalty = update(state, plan.n_coef, opt, t0 + k + 1, loss,
                                               sw_sum, rows)  # fmt: skip
            loss_sum += batch_loss
            penalty += batch_penalty
        stop, done, at, rule = _after_chunk(epochs, done, loss_sum, penalty, n, state.theta,
                                            data.order, chunk.count, at, rule)  # fmt: skip
        if stop:
            return loss_sum, penalty, done
        loss_sum = penalty = 0.0
