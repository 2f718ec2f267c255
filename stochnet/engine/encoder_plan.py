"""Plan and workspace of an attention encoder, as named tuples of arrays and scalars.

Parameter layout: all weight matrices first (``θ[:n_coef]``, penalised by ``alpha`` and
``l1``): the input embedding, the positional embedding, then per layer ``W_qkv``
(``d × 3d``), ``W_o`` (``d × d``), ``W₁`` (``d × d_ff``), ``W₂`` (``d_ff × d``), then the
output layer; then every vector: per layer ``γ₁, β₁, b_qkv, b_o, γ₂, β₂, b₁, b₂``, the
final LayerNorm's ``γ, β`` and the output bias.
"""

from typing import NamedTuple

import numpy as np

from ..kernels.codes import ACTIVATIONS, LOSSES
from ..random import keep_threshold
from .arrays import read_only


class EncoderPlan(NamedTuple):
    """Sizes, options and parameter offsets of an encoder (see the module docstring)."""

    length: int  # T, tokens per sequence
    d_in: int  # features per token
    d_model: int
    heads: int
    d_ff: int
    n_layers: int
    n_out: int
    per_token: bool  # one embedding matrix per position (tabular) or one shared
    causal: bool
    pooling: int  # codes.POOLING
    scale: float  # multiplies Q Kᵀ
    attn_threshold: np.uint64  # attention-weight dropout, p·2³² (0 = none)
    attn_scale: float
    drop_threshold: np.uint64  # residual-branch and feed-forward dropout
    drop_scale: float
    activation: int  # feed-forward activation code
    loss: int
    n_coef: int
    n_params: int
    emb_w: int
    pos: int
    out_w: int
    layer_w: np.ndarray  # int64 (n_layers, 4): offsets of LAYER_WEIGHTS
    layer_b: np.ndarray  # int64 (n_layers, 8): offsets of LAYER_VECTORS
    lnf_g: int
    lnf_b: int
    out_b: int


class EncoderWorkspace(NamedTuple):
    """Activations of every layer for batches of up to ``rows`` sequences."""

    x: np.ndarray  # (rows, T·d_in) input block
    lengths: np.ndarray  # (rows,) int64
    h: np.ndarray  # (L + 1, rows·T, d) residual stream before each layer, and after
    xhat1: np.ndarray  # (L, rows·T, d)
    rstd1: np.ndarray  # (L, rows·T)
    u1: np.ndarray  # (L, rows·T, d) LN₁ output
    q: np.ndarray  # (L, rows, heads, T, d_k)
    k: np.ndarray
    v: np.ndarray
    p: np.ndarray  # (L, rows, heads, T, T) attention probabilities
    pd: np.ndarray  # (L, rows, heads, T, T) after attention dropout
    pmask: np.ndarray
    o: np.ndarray  # (L, rows·T, d) heads concatenated
    r1: np.ndarray  # (L, rows·T, d) attention-branch dropout factors
    xhat2: np.ndarray
    rstd2: np.ndarray
    u2: np.ndarray
    fpre: np.ndarray  # (L, rows·T, d_ff) feed-forward pre-activations
    f: np.ndarray  # after activation and dropout
    fmask: np.ndarray
    r2: np.ndarray  # (L, rows·T, d) feed-forward-branch dropout factors
    pooled: np.ndarray  # (rows, d)
    xhatf: np.ndarray
    rstdf: np.ndarray
    uf: np.ndarray
    z: np.ndarray  # (rows, n_out)
    a: np.ndarray
    d: np.ndarray
    y: np.ndarray  # (rows, n_targets)
    sw: np.ndarray  # (rows,)
    qkv: np.ndarray  # scratch (rows·T, 3d)
    heads: np.ndarray  # scratch (rows, heads, T, d_k)
    branch: np.ndarray  # scratch (rows·T, d)
    dh: np.ndarray  # backward scratch (rows·T, d)
    dx: np.ndarray
    dy: np.ndarray
    df: np.ndarray  # (rows·T, d_ff)
    dqkv: np.ndarray  # (rows·T, 3d)
    dheads: np.ndarray  # (rows, heads, T, d_k)
    dq: np.ndarray
    dk: np.ndarray
    dv: np.ndarray
    dpool: np.ndarray  # (rows, d)
    ds: np.ndarray  # (rows, heads, T, T) attention-score gradients
    rows: int


def build_encoder_plan(
    length,
    d_in,
    n_out,
    d_model,
    heads,
    n_layers,
    d_ff,
    per_token,
    causal=False,
    pooling=0,
    scale=None,
    attention_dropout=0.0,
    dropout=0.0,
    activation="relu",
    loss="softmax_cross_entropy",
):
    """Plan of an encoder; ``scale=None`` is ``1/√d_k``."""
    if d_model % heads:
        raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({heads}).")
    d, f = d_model, d_ff
    scale = 1.0 / np.sqrt(d // heads) if scale is None else float(scale)
    cursor = 0

    def take(size):
        nonlocal cursor
        cursor += size
        return cursor - size

    emb_w = take((length if per_token else 1) * d_in * d)
    pos = take(length * d)
    weight_sizes = (d * 3 * d, d * d, d * f, f * d)
    vector_sizes = (d, d, 3 * d, d, d, d, f, d)

    def table(sizes):
        offsets = [[take(size) for size in sizes] for _ in range(n_layers)]
        return np.array(offsets, dtype=np.int64).reshape(n_layers, len(sizes))

    layer_w = table(weight_sizes)
    out_w = take(d * n_out)
    n_coef = cursor
    layer_b = table(vector_sizes)
    lnf_g, lnf_b, out_b = take(d), take(d), take(n_out)
    return read_only(
        EncoderPlan(
            length=int(length),
            d_in=int(d_in),
            d_model=int(d),
            heads=int(heads),
            d_ff=int(f),
            n_layers=int(n_layers),
            n_out=int(n_out),
            per_token=bool(per_token),
            causal=bool(causal),
            pooling=int(pooling),
            scale=float(scale),
            attn_threshold=np.uint64(keep_threshold(attention_dropout)),
            attn_scale=1.0 / (1.0 - attention_dropout),
            drop_threshold=np.uint64(keep_threshold(dropout)),
            drop_scale=1.0 / (1.0 - dropout),
            activation=ACTIVATIONS[activation],
            loss=LOSSES[loss],
            n_coef=n_coef,
            n_params=cursor,
            emb_w=emb_w,
            pos=pos,
            out_w=out_w,
            layer_w=layer_w,
            layer_b=layer_b,
            lnf_g=lnf_g,
            lnf_b=lnf_b,
            out_b=out_b,
        )
    )


def allocate_encoder_workspace(plan, rows, n_targets, dtype):
    """Buffers for batches of up to ``rows`` sequences of the plan's encoder."""
    rows = max(int(rows), 1)
    n_l, t, d = plan.n_layers, plan.length, plan.d_model
    n = rows * t
    heads = (rows, plan.heads, t, d // plan.heads)
    probs = (n_l, rows, plan.heads, t, t)

    def z(*shape):
        return np.zeros(shape, dtype=dtype)

    return EncoderWorkspace(
        x=z(rows, t * plan.d_in),
        lengths=np.zeros(rows, dtype=np.int64),
        h=z(n_l + 1, n, d),
        xhat1=z(n_l, n, d),
        rstd1=z(n_l, n),
        u1=z(n_l, n, d),
        q=z(n_l, *heads),
        k=z(n_l, *heads),
        v=z(n_l, *heads),
        p=z(*probs),
        pd=z(*probs),
        pmask=z(*probs),
        o=z(n_l, n, d),
        r1=z(n_l, n, d),
        xhat2=z(n_l, n, d),
        rstd2=z(n_l, n),
        u2=z(n_l, n, d),
        fpre=z(n_l, n, plan.d_ff),
        f=z(n_l, n, plan.d_ff),
        fmask=z(n_l, n, plan.d_ff),
        r2=z(n_l, n, d),
        pooled=z(rows, d),
        xhatf=z(rows, d),
        rstdf=z(rows),
        uf=z(rows, d),
        z=z(rows, plan.n_out),
        a=z(rows, plan.n_out),
        d=z(rows, plan.n_out),
        y=z(rows, n_targets),
        sw=z(rows),
        qkv=z(n, 3 * d),
        heads=z(*heads),
        branch=z(n, d),
        dh=z(n, d),
        dx=z(n, d),
        dy=z(n, d),
        df=z(n, plan.d_ff),
        dqkv=z(n, 3 * d),
        dheads=z(*heads),
        dq=z(*heads),
        dk=z(*heads),
        dv=z(*heads),
        dpool=z(rows, d),
        ds=z(*probs[1:]),
        rows=rows,
    )
