"""Multi-head scaled dot-product attention on head-major blocks.

Queries, keys and values of a batch live in ``rows × heads × T × d_k`` C-contiguous
arrays, so each head's products are ``np.dot`` calls on contiguous ``T × d_k`` blocks;
the (sequence, head) pairs run in parallel (``prange``, with more than one kernel
thread; keep the BLAS single-threaded meanwhile), each one's arithmetic the same
whatever the thread count.
Per head, ``S = scale · Q Kᵀ``, key ``j`` is masked for query ``i`` when ``j ≥ length``
(key padding) or, with ``causal``, when ``j > i``; ``P = softmax(S)`` over the unmasked
keys (the row maximum is subtracted; a row with every key masked is all zeros, not
NaN); attention dropout turns ``P`` into ``P̃ = P ⊙ M`` and the output is ``O = P̃ V``.
"""

import numpy as np
from numba import njit, prange

from ..._config import JIT_MATH
from ..shared.math_source import masked_softmax_row, softmax_grad_row
from .threads import in_parallel


@njit(**JIT_MATH)
def heads_from_rows(src, col0, dst):
    """Scatter columns ``col0 : col0 + heads·d_k`` of the token rows ``src``
    (``rows·T × width``) into the head-major ``dst`` (``rows × heads × T × d_k``)."""
    rows, heads, length, dk = dst.shape
    for b in range(rows):
        for h in range(heads):
            for t in range(length):
                r = b * length + t
                c = col0 + h * dk
                for e in range(dk):
                    dst[b, h, t, e] = src[r, c + e]


@njit(**JIT_MATH)
def rows_from_heads(src, dst, col0):
    """The inverse of :func:`heads_from_rows`: head-major ``src`` into the columns
    ``col0 : col0 + heads·d_k`` of the token rows ``dst``."""
    rows, heads, length, dk = src.shape
    for b in range(rows):
        for h in range(heads):
            for t in range(length):
                r = b * length + t
                c = col0 + h * dk
                for e in range(dk):
                    dst[r, c + e] = src[b, h, t, e]


@njit(**JIT_MATH)
def _masked_softmax(s, length, causal):
    """Softmax of each row of the ``T × T`` scores ``s`` in place, over the keys
    ``j < length`` (and ``j ≤ i`` when ``causal``); masked entries become 0."""
    for i in range(s.shape[0]):
        masked_softmax_row(s, i, min(length, i + 1) if causal else length)


@njit(**JIT_MATH)
def _probs_pair(q, k, lengths, causal, scale, p, b, h):
    length = q.shape[2]
    s = p[b, h]
    np.dot(q[b, h], k[b, h].T, s)
    for i in range(length):
        for j in range(length):
            s[i, j] *= scale
    _masked_softmax(s, length if lengths.shape[0] == 0 else lengths[b], causal)


@njit(parallel=True, **JIT_MATH)
def _probs_parallel(q, k, lengths, causal, scale, p):
    heads = q.shape[1]
    for bh in prange(q.shape[0] * heads):
        _probs_pair(q, k, lengths, causal, scale, p, bh // heads, bh % heads)


@njit(**JIT_MATH)
def attention_probs(q, k, lengths, causal, scale, p):
    """``p[b, h] = softmax(scale · q[b, h] k[b, h]ᵀ)`` with the masks of the module
    docstring; ``lengths`` is empty when every sequence is full."""
    rows, heads = q.shape[0], q.shape[1]
    if in_parallel(rows * heads, 2):
        _probs_parallel(q, k, lengths, causal, scale, p)
        return
    for b in range(rows):
        for h in range(heads):
            _probs_pair(q, k, lengths, causal, scale, p, b, h)


@njit(parallel=True, **JIT_MATH)
def _output_parallel(pd, v, o):
    heads = pd.shape[1]
    for bh in prange(pd.shape[0] * heads):
        np.dot(pd[bh // heads, bh % heads], v[bh // heads, bh % heads], o[bh // heads, bh % heads])


@njit(**JIT_MATH)
def attention_output(pd, v, o):
    """``o[b, h] = pd[b, h] @ v[b, h]`` (``pd``: the probabilities after dropout)."""
    rows, heads = pd.shape[0], pd.shape[1]
    if in_parallel(rows * heads, 2):
        _output_parallel(pd, v, o)
        return
    for b in range(rows):
        for h in range(heads):
            np.dot(pd[b, h], v[b, h], o[b, h])


@njit(**JIT_MATH)
def _backward_pair(q, k, v, p, pd, pmask, do, scale, dq, dk, dv, ds, b, h):
    dropped = pmask.shape[0] > 0
    np.dot(pd[b, h].T, do[b, h], dv[b, h])
    grad = ds[b, h]
    np.dot(do[b, h], v[b, h].T, grad)
    pbh = p[b, h]
    mask = pmask[b, h] if dropped else pbh
    for i in range(q.shape[2]):
        softmax_grad_row(pbh, grad, mask, i, scale, dropped)
    np.dot(grad, k[b, h], dq[b, h])
    np.dot(grad.T, q[b, h], dk[b, h])


@njit(parallel=True, **JIT_MATH)
def _backward_parallel(q, k, v, p, pd, pmask, do, scale, dq, dk, dv, ds):
    heads = q.shape[1]
    for bh in prange(q.shape[0] * heads):
        _backward_pair(q, k, v, p, pd, pmask, do, scale, dq, dk, dv, ds, bh // heads, bh % heads)


@njit(**JIT_MATH)
def attention_backward(q, k, v, p, pd, pmask, do, scale, dq, dk, dv, ds):
    """Gradients with respect to ``q``, ``k``, ``v`` from ``do = ∂L/∂O``.

    ``pmask`` holds the dropout factors of ``P`` (empty without attention dropout);
    ``ds`` (shaped like ``p``) receives ``dS``. Per head::

        dV = P̃ᵀ dO,  dP = (dO Vᵀ) ⊙ M,  dS = P ⊙ (dP - rowsum(P ⊙ dP)),
        dQ = scale · dS K,  dK = scale · dSᵀ Q
    """
    rows, heads = q.shape[0], q.shape[1]
    if in_parallel(rows * heads, 2):
        _backward_parallel(q, k, v, p, pd, pmask, do, scale, dq, dk, dv, ds)
        return
    for b in range(rows):
        for h in range(heads):
            _backward_pair(q, k, v, p, pd, pmask, do, scale, dq, dk, dv, ds, b, h)
