"""Whole-encoder forward and backward passes on the GPU (see ``kernels.cpu.encoder``:
the same plan, layer loop, dropout sites and counters; the host launches, the arrays
stay on the GPU). ``work`` comes from :func:`device_workspace`."""

import numpy as np
from numba import cuda

from ..codes import (
    DROPOUT_LAYER_SHIFT,
    FF1,
    FF1_BIAS,
    FF2,
    FF2_BIAS,
    LN1_BETA,
    LN1_GAMMA,
    LN2_BETA,
    LN2_GAMMA,
    OUT,
    OUT_BIAS,
    QKV,
    QKV_BIAS,
    STREAMS,
)
from . import batch
from .activations import activate, activation_backward
from .attention import (
    attention_backward,
    attention_output,
    attention_probs,
    heads_from_rows,
    rows_from_heads,
)
from .batch import LOSS, N_STATS, WEIGHT, load_rows, load_targets
from .dense import dense_backward, dense_forward
from .dropout import dropout_backward, dropout_forward
from .elementwise import add_into, fill
from .launch import Transfer
from .layernorm import layernorm_backward, layernorm_forward
from .losses import output_activation, output_loss
from .reduce import SUM, sums_into
from .tokens import clear_padding, embed_backward, embed_forward, pool_backward, pool_forward

_DROPOUT = np.uint64(STREAMS["dropout"])


def device_workspace(work):
    """The host ``engine.encoder_plan.EncoderWorkspace`` ``work`` on the GPU."""
    return batch.device_workspace(work)


def matrix(theta, start, n_rows, n_cols):
    """The ``n_rows × n_cols`` view of ``theta`` at ``start``."""
    start = int(start)
    return theta[start : start + n_rows * n_cols].reshape((n_rows, n_cols))


def vector(theta, start, size):
    return theta[int(start) : int(start) + size]


def flat(a):
    """A C-contiguous GPU block as 1-D (a view)."""
    return a.reshape(int(np.prod(a.shape)))


def _drop(a, mask, rate, key, stream, step, layer, site):
    threshold, scale = rate
    dropout_forward(flat(a), flat(mask), threshold, scale, key, stream, step,
                    (4 * layer + site + 1) << DROPOUT_LAYER_SHIFT)  # fmt: skip


def embedding(theta, plan):
    """Views ``(W, P)`` as in ``kernels.cpu.encoder.embedding``."""
    n_w = plan.length if plan.per_token else 1
    size = n_w * plan.d_in * plan.d_model
    w = theta[plan.emb_w : plan.emb_w + size].reshape((n_w, plan.d_in, plan.d_model))
    return w, matrix(theta, plan.pos, plan.length, plan.d_model)


def batch_lengths(work, rows, with_lengths):
    return work.lengths[:rows] if with_lengths else work.lengths[:0]


def _residual(h_next, h, branch):
    h_next.copy_to_device(h)
    add_into(flat(h_next), flat(branch))


def forward(theta, plan, work, rows, with_lengths, dropout, key, stream, step):
    """Outputs' pre-activations ``work.z[:rows]`` for the batch in ``work.x[:rows]``;
    with ``dropout``, masks from Philox ``(key, stream)`` at ``step``."""
    n = rows * plan.length
    d, f = plan.d_model, plan.d_ff
    lengths = batch_lengths(work, rows, with_lengths)
    drop_attn = dropout and plan.attn_threshold > 0
    drop = dropout and plan.drop_threshold > 0
    rate = (plan.drop_threshold, plan.drop_scale)  # (keep threshold, 1 / (1 - p))
    attention_rate = (plan.attn_threshold, plan.attn_scale)
    w_emb, pos = embedding(theta, plan)
    embed_forward(work.x[:rows], w_emb, pos, work.h[0, :n])
    for layer in range(plan.n_layers):
        wo, bo = plan.layer_w[layer], plan.layer_b[layer]
        h, h_next, u1 = work.h[layer, :n], work.h[layer + 1, :n], work.u1[layer, :n]
        layernorm_forward(
            h,
            vector(theta, bo[LN1_GAMMA], d),
            vector(theta, bo[LN1_BETA], d),
            work.xhat1[layer, :n],
            work.rstd1[layer, :n],
            u1,
        )
        qkv = work.qkv[:n]
        dense_forward(u1, matrix(theta, wo[QKV], d, 3 * d), vector(theta, bo[QKV_BIAS], 3 * d), qkv)
        q, k, v = work.q[layer, :rows], work.k[layer, :rows], work.v[layer, :rows]
        heads_from_rows(qkv, 0, q)
        heads_from_rows(qkv, d, k)
        heads_from_rows(qkv, 2 * d, v)
        p = work.p[layer, :rows]
        attention_probs(q, k, lengths, plan.causal, plan.scale, p)
        pd = p
        if drop_attn:
            pd = work.pd[layer, :rows]
            pd.copy_to_device(p)
            _drop(pd, work.pmask[layer, :rows], attention_rate, key, stream, step, layer, 0)
        heads = work.heads[:rows]
        attention_output(pd, v, heads)
        o = work.o[layer, :n]
        rows_from_heads(heads, o, 0)
        branch = work.branch[:n]
        dense_forward(o, matrix(theta, wo[OUT], d, d), vector(theta, bo[OUT_BIAS], d), branch)
        if drop:
            _drop(branch, work.r1[layer, :n], rate, key, stream, step, layer, 1)
        _residual(h_next, h, branch)
        u2 = work.u2[layer, :n]
        layernorm_forward(
            h_next,
            vector(theta, bo[LN2_GAMMA], d),
            vector(theta, bo[LN2_BETA], d),
            work.xhat2[layer, :n],
            work.rstd2[layer, :n],
            u2,
        )
        pre, hidden = work.fpre[layer, :n], work.f[layer, :n]
        dense_forward(u2, matrix(theta, wo[FF1], d, f), vector(theta, bo[FF1_BIAS], f), pre)
        activate(plan.activation, flat(pre), flat(hidden))
        if drop:
            _drop(hidden, work.fmask[layer, :n], rate, key, stream, step, layer, 2)
        dense_forward(hidden, matrix(theta, wo[FF2], f, d), vector(theta, bo[FF2_BIAS], d), branch)
        if drop:
            _drop(branch, work.r2[layer, :n], rate, key, stream, step, layer, 3)
        add_into(flat(h_next), flat(branch))
    pooled = work.pooled[:rows]
    pool_forward(work.h[plan.n_layers, :n], lengths, plan.pooling, pooled)
    uf = work.uf[:rows]
    layernorm_forward(
        pooled,
        vector(theta, plan.lnf_g, d),
        vector(theta, plan.lnf_b, d),
        work.xhatf[:rows],
        work.rstdf[:rows],
        uf,
    )
    dense_forward(
        uf,
        matrix(theta, plan.out_w, d, plan.n_out),
        vector(theta, plan.out_b, plan.n_out),
        work.z[:rows],
    )


def _dense_backward(theta, grad, x, w, b, n_in, n_out, dz, dx):
    """``dense_backward`` of the layer whose weights start at ``w`` and biases at ``b``."""
    dense_backward(
        x,
        matrix(theta, w, n_in, n_out),
        dz,
        matrix(grad, w, n_in, n_out),
        vector(grad, b, n_out),
        dx,
    )


def _layernorm_backward(theta, grad, gamma, beta, d, xhat, rstd, dx):
    """``layernorm_backward`` in place on ``dx`` for the LayerNorm whose gains start at
    ``gamma`` and shifts at ``beta``."""
    layernorm_backward(
        dx, vector(theta, gamma, d), xhat, rstd, vector(grad, gamma, d), vector(grad, beta, d), dx
    )


def backward(theta, grad, plan, work, rows, with_lengths, dropout):
    """Every gradient sum into ``grad`` from the output deltas ``work.d[:rows]``."""
    n = rows * plan.length
    d, f = plan.d_model, plan.d_ff
    lengths = batch_lengths(work, rows, with_lengths)
    drop_attn = dropout and plan.attn_threshold > 0
    drop = dropout and plan.drop_threshold > 0
    dpool = work.dpool[:rows]
    _dense_backward(
        theta, grad, work.uf[:rows], plan.out_w, plan.out_b, d, plan.n_out, work.d[:rows], dpool
    )
    _layernorm_backward(
        theta, grad, plan.lnf_g, plan.lnf_b, d, work.xhatf[:rows], work.rstdf[:rows], dpool
    )
    dh, dx, dy = work.dh[:n], work.dx[:n], work.dy[:n]
    pool_backward(dpool, lengths, plan.pooling, dh)
    for layer in range(plan.n_layers - 1, -1, -1):
        wo, bo = plan.layer_w[layer], plan.layer_b[layer]
        # feed-forward branch
        dx.copy_to_device(dh)
        if drop:
            dropout_backward(flat(dx), flat(work.r2[layer, :n]))
        dhidden = work.df[:n]
        _dense_backward(theta, grad, work.f[layer, :n], wo[FF2], bo[FF2_BIAS], f, d, dx, dhidden)
        if drop:
            dropout_backward(flat(dhidden), flat(work.fmask[layer, :n]))
        activation_backward(plan.activation, flat(work.fpre[layer, :n]), flat(dhidden))
        _dense_backward(theta, grad, work.u2[layer, :n], wo[FF1], bo[FF1_BIAS], d, f, dhidden, dx)
        xhat, rstd = work.xhat2[layer, :n], work.rstd2[layer, :n]
        _layernorm_backward(theta, grad, bo[LN2_GAMMA], bo[LN2_BETA], d, xhat, rstd, dx)
        add_into(flat(dh), flat(dx))
        # attention branch
        dx.copy_to_device(dh)
        if drop:
            dropout_backward(flat(dx), flat(work.r1[layer, :n]))
        _dense_backward(theta, grad, work.o[layer, :n], wo[OUT], bo[OUT_BIAS], d, d, dx, dy)
        dheads = work.dheads[:rows]
        heads_from_rows(dy, 0, dheads)
        p = work.p[layer, :rows]
        pd = work.pd[layer, :rows] if drop_attn else p
        pmask = work.pmask[layer, :rows] if drop_attn else work.pmask[layer, :0]
        dq, dk, dv = work.dq[:rows], work.dk[:rows], work.dv[:rows]
        attention_backward(work.q[layer, :rows], work.k[layer, :rows], work.v[layer, :rows],
                           p, pd, pmask, dheads, plan.scale, dq, dk, dv,
                           work.ds[:rows])  # fmt: skip
        dqkv = work.dqkv[:n]
        rows_from_heads(dq, dqkv, 0)
        rows_from_heads(dk, dqkv, d)
        rows_from_heads(dv, dqkv, 2 * d)
        _dense_backward(theta, grad, work.u1[layer, :n], wo[QKV], bo[QKV_BIAS], d, 3 * d, dqkv, dx)
        xhat, rstd = work.xhat1[layer, :n], work.rstd1[layer, :n]
        _layernorm_backward(theta, grad, bo[LN1_GAMMA], bo[LN1_BETA], d, xhat, rstd, dx)
        add_into(flat(dh), flat(dx))
    gw, gpos = embedding(grad, plan)
    embed_backward(work.x[:rows], dh, gw, gpos)


def _column(v):
    return v.reshape((v.shape[0], 1))


def load_tokens(X, order, start, rows, work):
    """Sequences ``order[start : start + rows]`` of the ``TokenInput`` ``X`` (GPU arrays)
    into ``work.x`` and ``work.lengths``. Returns whether the input has lengths."""
    load_rows(X.values, order, start, rows, work.x)
    with_lengths = X.lengths.shape[0] > 0
    if with_lengths:
        load_rows(_column(X.lengths), order, start, rows, _column(work.lengths))
    return with_lengths


def _load(X, order, start, rows, plan, work):
    with_lengths = load_tokens(X, order, start, rows, work)
    clear_padding(work.x[:rows], batch_lengths(work, rows, with_lengths), plan.d_in)
    return with_lengths


def _tokens_on_gpu(X, transfer):
    return type(X)(*(transfer.device(a, write=False) for a in X))


def predict_rows(X, theta, plan, work, out, dropout, key, stream, step):
    """Predictions for every sequence of ``X`` into ``out``, in chunks (chunk ``c`` with
    the MC-dropout masks of ``(key, stream)`` at ``step + c``)."""
    transfer = Transfer()
    d_X, d_theta, d_out = (
        _tokens_on_gpu(X, transfer),
        transfer.device(theta, write=False),
        transfer.device(out),
    )
    no_order = cuda.device_array(0, dtype=np.int64)
    n = out.shape[0]
    for c, start in enumerate(range(0, n, work.rows)):
        rows = min(work.rows, n - start)
        with_lengths = _load(d_X, no_order, start, rows, plan, work)
        at = np.uint64(step) + np.uint64(c)
        forward(d_theta, plan, work, rows, with_lengths, dropout, key, stream, at)
        output_activation(plan.loss, work.z[:rows], d_out[start : start + rows])
    transfer.copy_back()


def attention_maps(X, theta, plan, work, probs, queries, keys):
    """Attention probabilities (and, unless empty, queries and keys) of every layer and
    head, without dropout, as ``kernels.cpu.encoder.attention_maps``."""
    transfer = Transfer()
    d_X, d_theta = _tokens_on_gpu(X, transfer), transfer.device(theta, write=False)
    no_order = cuda.device_array(0, dtype=np.int64)
    for start in range(0, probs.shape[0], work.rows):
        rows = min(work.rows, probs.shape[0] - start)
        with_lengths = _load(d_X, no_order, start, rows, plan, work)
        zero = np.uint64(0)
        forward(d_theta, plan, work, rows, with_lengths, False, zero, zero, zero)
        for layer in range(plan.n_layers):
            probs[start : start + rows, layer] = work.p[layer, :rows].copy_to_host()
            if queries.shape[0] > 0:
                queries[start : start + rows, layer] = work.q[layer, :rows].copy_to_host()
                keys[start : start + rows, layer] = work.k[layer, :rows].copy_to_host()


def loss_grad_sums(X, Y, sw, theta, grad, chunk_grad, plan, work, dropout, key, step):
    """Full-data ``(Σ w_i ℓ_i, Σ w_i)`` and the gradient sum into ``grad``, in chunks."""
    transfer = Transfer()
    d_X = _tokens_on_gpu(X, transfer)
    d_Y, d_sw, d_theta = (transfer.device(a, write=False) for a in (Y, sw, theta))
    d_grad, d_chunk = transfer.device(grad), transfer.device(chunk_grad)
    no_order = cuda.device_array(0, dtype=np.int64)
    n = Y.shape[0]
    stats = cuda.to_device(np.zeros(max(-(-n // work.rows), 1) * N_STATS))
    fill(d_grad, 0.0)
    for c, start in enumerate(range(0, n, work.rows)):
        rows = min(work.rows, n - start)
        slot = c * N_STATS
        with_lengths = _load(d_X, no_order, start, rows, plan, work)
        y, w = load_targets(d_Y, d_sw, no_order, start, rows, work, stats, slot)
        at = np.uint64(step) + np.uint64(c)
        forward(d_theta, plan, work, rows, with_lengths, dropout, key, _DROPOUT, at)
        output_loss(plan.loss, work.z[:rows], work.a[:rows], y, w, work.d[:rows], work.losses)
        sums_into(work.losses, rows, SUM, 1, stats, slot + LOSS, work.partial)
        backward(d_theta, d_chunk, plan, work, rows, with_lengths, dropout)
        add_into(d_grad, d_chunk)
    transfer.copy_back()
    totals = stats.copy_to_host().reshape(-1, N_STATS)
    return float(totals[:, LOSS].sum()), float(totals[:, WEIGHT].sum())
