"""Whole-encoder forward and backward passes, interpreting an ``EncoderPlan``.

``plan`` (``engine.encoder_plan.EncoderPlan``) holds the sizes and parameter offsets,
``work`` (``EncoderWorkspace``) the activations of every layer for a batch of up to
``work.rows`` sequences. With ``n = rows·T`` token rows, layer ``l`` (pre-LayerNorm)::

    u = LN₁(h_l);  Q, K, V = u W_qkv + b_qkv  (split into heads)
    h' = h_l + drop(concat_h(drop_attn(softmax(scale · Q Kᵀ, masks)) V) W_o + b_o)
    h_{l+1} = h' + drop(act(LN₂(h') W₁ + b₁) ⊙ drop W₂ + b₂)

then the pooled tokens go through a final LayerNorm and the output layer. Every
dropout site of layer ``l`` draws counter indices from
``(4 l + site + 1) << DROPOUT_LAYER_SHIFT`` (site 0: attention weights, 1: attention
branch, 2: feed-forward hidden units, 3: feed-forward branch).
"""

import numpy as np
from numba import njit

from ..._config import JIT, JIT_MATH
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
from .activations import activate, activation_backward
from .attention import (
    attention_backward,
    attention_output,
    attention_probs,
    heads_from_rows,
    rows_from_heads,
)
from .batch import load_targets
from .dense import dense_backward, dense_forward
from .dropout import dropout_backward, dropout_forward
from .layernorm import layernorm_backward, layernorm_forward
from .losses import output_activation, output_loss
from .specialise import read_only, runtime
from .tokens import clear_padding, embed_backward, embed_forward, pool_backward, pool_forward

_DROPOUT = np.uint64(STREAMS["dropout"])


@njit(**JIT)
def matrix(theta, start, n_rows, n_cols):
    """The ``n_rows × n_cols`` view of ``theta`` at ``start``."""
    return theta[start : start + n_rows * n_cols].reshape((n_rows, n_cols))


@njit(**JIT)
def vector(theta, start, size):
    return theta[start : start + size]


@njit(**JIT)
def flat(a):
    """A C-contiguous block as 1-D (a view)."""
    return a.reshape(a.size)


@njit(**JIT)
def _site(layer, site):
    return np.int64(4 * layer + site + 1) << DROPOUT_LAYER_SHIFT


@njit(**JIT)
def _drop(a, mask, rate, key, stream, step, layer, site):
    threshold, scale = rate
    dropout_forward(flat(a), flat(mask), threshold, scale, key, stream, step, _site(layer, site))


@njit(**JIT)
def embedding(theta, plan):
    """Views ``(W, P)``: ``W`` is ``(T or 1) × d_in × d_model``, ``P`` is ``T × d_model``."""
    n_w = plan.length if plan.per_token else 1
    size = n_w * plan.d_in * plan.d_model
    w = theta[plan.emb_w : plan.emb_w + size].reshape((n_w, plan.d_in, plan.d_model))
    return w, matrix(theta, plan.pos, plan.length, plan.d_model)


@njit(**JIT)
def batch_lengths(work, rows, with_lengths):
    return work.lengths[:rows] if with_lengths else work.lengths[:0]


@njit(**JIT_MATH)
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
        h = work.h[layer, :n]
        h_next = work.h[layer + 1, :n]
        u1 = work.u1[layer, :n]
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
            pd[:] = p
            _drop(pd, work.pmask[layer, :rows], attention_rate, key, stream, step, layer, 0)
        heads = work.heads[:rows]
        attention_output(pd, v, heads)
        o = work.o[layer, :n]
        rows_from_heads(heads, o, 0)
        branch = work.branch[:n]
        dense_forward(o, matrix(theta, wo[OUT], d, d), vector(theta, bo[OUT_BIAS], d), branch)
        if drop:
            _drop(branch, work.r1[layer, :n], rate, key, stream, step, layer, 1)
        for i in range(n):
            for j in range(d):
                h_next[i, j] = h[i, j] + branch[i, j]
        u2 = work.u2[layer, :n]
        layernorm_forward(
            h_next,
            vector(theta, bo[LN2_GAMMA], d),
            vector(theta, bo[LN2_BETA], d),
            work.xhat2[layer, :n],
            work.rstd2[layer, :n],
            u2,
        )
        pre = work.fpre[layer, :n]
        hidden = work.f[layer, :n]
        dense_forward(u2, matrix(theta, wo[FF1], d, f), vector(theta, bo[FF1_BIAS], f), pre)
        activate(plan.activation, flat(pre), flat(hidden))
        if drop:
            _drop(hidden, work.fmask[layer, :n], rate, key, stream, step, layer, 2)
        dense_forward(hidden, matrix(theta, wo[FF2], f, d), vector(theta, bo[FF2_BIAS], d), branch)
        if drop:
            _drop(branch, work.r2[layer, :n], rate, key, stream, step, layer, 3)
        for i in range(n):
            for j in range(d):
                h_next[i, j] += branch[i, j]
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


@njit(**JIT_MATH)
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


@njit(**JIT_MATH)
def _layernorm_backward(theta, grad, gamma, beta, d, xhat, rstd, dx):
    """``layernorm_backward`` in place on ``dx`` for the LayerNorm whose gains start at
    ``gamma`` and shifts at ``beta``."""
    layernorm_backward(
        dx, vector(theta, gamma, d), xhat, rstd, vector(grad, gamma, d), vector(grad, beta, d), dx
    )


@njit(**JIT_MATH)
def backward(theta, grad, plan, work, rows, with_lengths, dropout):
    """Every gradient sum into ``grad`` (all entries written) from the output deltas
    ``work.d[:rows]`` of the last :func:`forward` call."""
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
    dh = work.dh[:n]
    dx = work.dx[:n]
    dy = work.dy[:n]
    pool_backward(dpool, lengths, plan.pooling, dh)
    for layer in range(plan.n_layers - 1, -1, -1):
        wo, bo = plan.layer_w[layer], plan.layer_b[layer]
        # feed-forward branch
        dx[:] = dh
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
        dh += dx
        # attention branch
        dx[:] = dh
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
        dh += dx
    gw, gpos = embedding(grad, plan)
    embed_backward(work.x[:rows], dh, gw, gpos)


@njit(**JIT)
def load_tokens(X, order, start, rows, work):
    """Sequences ``order[start : start + rows]`` (``order`` empty: the natural order)
    of the ``TokenInput`` ``X`` into ``work.x`` and ``work.lengths``; padding cleared.
    Returns whether the input has lengths."""
    values, lengths = X.values, X.lengths
    use_order = order.shape[0] > 0
    with_lengths = lengths.shape[0] > 0
    x = work.x
    for r in range(rows):
        src = order[start + r] if use_order else start + r
        for j in range(values.shape[1]):
            x[r, j] = values[src, j]
        if with_lengths:
            work.lengths[r] = lengths[src]
    return with_lengths


@njit(**JIT)
def _load(X, order, start, rows, plan, work):
    with_lengths = load_tokens(X, order, start, rows, work)
    clear_padding(work.x[:rows], batch_lengths(work, rows, with_lengths), plan.d_in)
    return with_lengths


@njit(**JIT)
def predict_rows(X, theta, plan, work, out, dropout, key, stream, step):
    """Predictions for every sequence of ``X`` into ``out``, in chunks of the workspace
    size; with ``dropout`` (MC dropout) chunk ``c`` draws its masks from ``(key,
    stream)`` at ``step + c``."""
    n = out.shape[0]
    empty = np.empty(0, dtype=np.int64)
    for c, start in enumerate(range(0, n, work.rows)):
        rows = min(work.rows, n - start)
        with_lengths = _load(X, empty, start, rows, plan, work)
        at = step + np.uint64(c)
        forward(read_only(theta), plan, work, rows, with_lengths, dropout, key, stream, at)
        output_activation(plan.loss, work.z[:rows], out[start : start + rows])


@njit(**JIT)
def attention_maps(X, theta, plan, work, probs, queries, keys):
    """Attention probabilities of every layer and head (no dropout) into ``probs``
    (``n × layers × heads × T × T``) and, unless they are empty, the queries and keys
    into ``queries`` and ``keys`` (``n × layers × heads × T × d_k``)."""
    n = probs.shape[0]
    empty = np.empty(0, dtype=np.int64)
    no_dropout, zero = runtime(False), np.uint64(0)
    for start in range(0, n, work.rows):
        rows = min(work.rows, n - start)
        with_lengths = _load(X, empty, start, rows, plan, work)
        forward(read_only(theta), plan, work, rows, with_lengths, no_dropout, zero, zero, zero)
        for layer in range(plan.n_layers):
            probs[start : start + rows, layer] = work.p[layer, :rows]
            if queries.shape[0] > 0:
                queries[start : start + rows, layer] = work.q[layer, :rows]
                keys[start : start + rows, layer] = work.k[layer, :rows]


@njit(**JIT)
def loss_grad_sums(X, Y, sw, theta, grad, chunk_grad, plan, work, dropout, key, step):
    """Full-data loss sum and gradient sum, in chunks (see ``mlp.loss_grad_sums``)."""
    n = Y.shape[0]
    empty = np.empty(0, dtype=np.int64)
    grad[:] = 0.0
    loss_sum = 0.0
    sw_sum = 0.0
    for c, start in enumerate(range(0, n, work.rows)):
        rows = min(work.rows, n - start)
        with_lengths = _load(X, empty, start, rows, plan, work)
        y, w, chunk_sw = load_targets(Y, sw, empty, start, rows, work)
        sw_sum += chunk_sw
        at = step + np.uint64(c)
        forward(read_only(theta), plan, work, rows, with_lengths, dropout, key, _DROPOUT, at)
        loss_sum += output_loss(plan.loss, work.z[:rows], work.a[:rows], y, w, work.d[:rows])
        backward(read_only(theta), chunk_grad, plan, work, rows, with_lengths, dropout)
        grad += chunk_grad
    return loss_sum, sw_sum
