"""Multi-head scaled dot-product attention on the GPU (see ``kernels.cpu.attention``:
the same head-major blocks, masks and formulas). The products are batched matrix
products over the ``rows × heads`` pairs; the softmax and its gradient run one thread
per query row, with the CPU's row code."""

import numpy as np
from numba import cuda

from ..shared.math_source import masked_softmax_row, softmax_grad_row
from .dense import matmul
from .launch import Transfer, cuda_kernel, launch


def _pairs(a):
    """``rows × heads × …`` as ``(rows·heads) × …`` (a view)."""
    return a.reshape((a.shape[0] * a.shape[1], *a.shape[2:]))


@cuda.jit(device=True)
def _split(e, heads, length, inner):
    """``(b, h, t, c)`` of the flat index ``e`` into a ``rows × heads × length × inner``
    array."""
    return (
        e // (inner * length * heads),
        (e // (inner * length)) % heads,
        (e // inner) % length,
        e % inner,
    )


@cuda_kernel
def _heads_from_rows(src, col0, dst):
    rows, heads, length, dk = dst.shape
    for e in range(cuda.grid(1), rows * heads * length * dk, cuda.gridsize(1)):
        b, h, t, c = _split(e, heads, length, dk)
        dst[b, h, t, c] = src[b * length + t, col0 + h * dk + c]


@cuda_kernel
def _rows_from_heads(src, dst, col0):
    rows, heads, length, dk = src.shape
    for e in range(cuda.grid(1), rows * heads * length * dk, cuda.gridsize(1)):
        b, h, t, c = _split(e, heads, length, dk)
        dst[b * length + t, col0 + h * dk + c] = src[b, h, t, c]


@cuda_kernel
def _scaled_masked_softmax(p, lengths, causal, scale):
    rows, heads, length = p.shape[0], p.shape[1], p.shape[2]
    full = lengths.shape[0] == 0
    for e in range(cuda.grid(1), rows * heads * length, cuda.gridsize(1)):
        b, h, _, i = _split(e, heads, 1, length)
        s = p[b, h]
        for j in range(length):
            s[i, j] *= scale
        valid = length if full else lengths[b]
        masked_softmax_row(s, i, min(valid, i + 1) if causal else valid)


@cuda_kernel
def _softmax_backward(p, pmask, dropped, scale, ds):
    rows, heads, length = p.shape[0], p.shape[1], p.shape[2]
    for e in range(cuda.grid(1), rows * heads * length, cuda.gridsize(1)):
        b, h, _, i = _split(e, heads, 1, length)
        mask = pmask[b, h] if dropped else p[b, h]
        softmax_grad_row(p[b, h], ds[b, h], mask, i, scale, dropped)


def heads_from_rows(src, col0, dst):
    """Columns ``col0 : col0 + heads·d_k`` of the token rows ``src`` into the head-major
    ``dst`` (``rows × heads × T × d_k``)."""
    launch(_heads_from_rows, int(np.prod(dst.shape)), src, np.int64(col0), dst, writes=(2,))


def rows_from_heads(src, dst, col0):
    """The inverse of :func:`heads_from_rows`."""
    launch(_rows_from_heads, int(np.prod(src.shape)), src, dst, np.int64(col0), writes=(1,))


def attention_probs(q, k, lengths, causal, scale, p):
    """``p[b, h] = softmax(scale · q[b, h] k[b, h]ᵀ)`` with the key-padding and causal
    masks; ``lengths`` is empty when every sequence is full."""
    transfer = Transfer()
    d_q, d_k, d_lengths = (transfer.device(a, write=False) for a in (q, k, lengths))
    d_p = transfer.device(p)
    if q.shape[0]:
        matmul(_pairs(d_q), _pairs(d_k), _pairs(d_p), trans_b=True)
        launch(
            _scaled_masked_softmax,
            q.shape[0] * q.shape[1] * q.shape[2],
            d_p,
            d_lengths,
            bool(causal),
            np.float64(scale),
        )
    transfer.copy_back()


def attention_output(pd, v, o):
    """``o[b, h] = pd[b, h] @ v[b, h]``."""
    transfer = Transfer()
    d_o = transfer.device(o)
    if pd.shape[0]:
        matmul(
            _pairs(transfer.device(pd, write=False)),
            _pairs(transfer.device(v, write=False)),
            _pairs(d_o),
        )
    transfer.copy_back()


def attention_backward(q, k, v, p, pd, pmask, do, scale, dq, dk, dv, ds):
    """Gradients with respect to ``q``, ``k``, ``v`` from ``do`` (see the CPU's);
    ``pmask`` empty without attention dropout, ``ds`` receives ``dS``."""
    transfer = Transfer()
    d_q, d_k, d_v, d_p, d_pd, d_pmask, d_do = (
        transfer.device(a, write=False) for a in (q, k, v, p, pd, pmask, do)
    )
    d_dq, d_dk, d_dv, d_ds = (transfer.device(a) for a in (dq, dk, dv, ds))
    if q.shape[0]:
        matmul(_pairs(d_pd), _pairs(d_do), _pairs(d_dv), trans_a=True)
        matmul(_pairs(d_do), _pairs(d_v), _pairs(d_ds), trans_b=True)
        launch(
            _softmax_backward,
            q.shape[0] * q.shape[1] * q.shape[2],
            d_p,
            d_pmask,
            pmask.shape[0] > 0,
            np.float64(scale),
            d_ds,
        )
        matmul(_pairs(d_ds), _pairs(d_k), _pairs(d_dq))
        matmul(_pairs(d_ds), _pairs(d_q), _pairs(d_dk), trans_a=True)
    transfer.copy_back()
