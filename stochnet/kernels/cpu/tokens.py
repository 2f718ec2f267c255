"""Tokens in and out of the encoder: input embedding, padding, pooling.

A batch of ``rows`` sequences of ``T`` tokens with ``d_in`` features each arrives as a
``rows × (T·d_in)`` block and leaves the embedding as ``rows·T × d_model`` token rows
(row ``b·T + t``). Token ``t`` is ``x_t W + P_t``: one ``W`` shared by all positions
(sequences, ``W`` is ``1 × d_in × d_model``), or one per position (tabular features as
in FT-Transformer, ``T × d_in × d_model``); ``P`` is the learned positional (feature)
embedding. ``lengths`` (empty: all full) marks tokens ``t ≥ length`` as padding.
"""

import numpy as np
from numba import njit

from ..._config import JIT_MATH
from ..codes import FIRST_POOLING


@njit(**JIT_MATH)
def clear_padding(x, lengths, d_in):
    """Zero the features of padding tokens (they may hold NaN padding values)."""
    if lengths.shape[0] == 0:
        return
    for b in range(x.shape[0]):
        for c in range(lengths[b] * d_in, x.shape[1]):
            x[b, c] = 0.0


@njit(**JIT_MATH)
def embed_forward(x, w, pos, h):
    """Token rows ``h`` (``rows·T × d_model``) from the input block ``x``."""
    length, width = pos.shape
    rows = x.shape[0]
    d_in = w.shape[1]
    if w.shape[0] == 1:
        np.dot(x.reshape((rows * length, d_in)), w[0], h)
        for b in range(rows):
            for t in range(length):
                for j in range(width):
                    h[b * length + t, j] += pos[t, j]
        return
    for b in range(rows):
        for t in range(length):
            r = b * length + t
            for j in range(width):
                h[r, j] = pos[t, j]
            for i in range(d_in):
                xi = x[b, t * d_in + i]
                for j in range(width):
                    h[r, j] += xi * w[t, i, j]


@njit(**JIT_MATH)
def embed_backward(x, dh, gw, gpos):
    """Gradient sums of the embedding weights ``gw`` and positions ``gpos``."""
    length, width = gpos.shape
    rows = x.shape[0]
    d_in = gw.shape[1]
    gpos[:] = 0.0
    for b in range(rows):
        for t in range(length):
            for j in range(width):
                gpos[t, j] += dh[b * length + t, j]
    if gw.shape[0] == 1:
        np.dot(x.reshape((rows * length, d_in)).T, dh, gw[0])
        return
    gw[:] = 0.0
    for b in range(rows):
        for t in range(length):
            r = b * length + t
            for i in range(d_in):
                xi = x[b, t * d_in + i]
                for j in range(width):
                    gw[t, i, j] += xi * dh[r, j]


@njit(**JIT_MATH)
def pool_forward(h, lengths, pooling, out):
    """One row per sequence: the mean over its non-padding tokens (``pooling`` 0; all
    padding gives zeros) or its first token (1)."""
    rows, width = out.shape
    length = h.shape[0] // rows
    for b in range(rows):
        if pooling == FIRST_POOLING:
            for j in range(width):
                out[b, j] = h[b * length, j]
            continue
        valid = length if lengths.shape[0] == 0 else lengths[b]
        for j in range(width):
            out[b, j] = 0.0
        for t in range(valid):
            for j in range(width):
                out[b, j] += h[b * length + t, j]
        if valid > 0:
            inv = 1.0 / valid
            for j in range(width):
                out[b, j] *= inv


@njit(**JIT_MATH)
def pool_backward(dout, lengths, pooling, dh):
    """Token-row gradients ``dh`` from the pooled-row gradients ``dout``."""
    rows, width = dout.shape
    length = dh.shape[0] // rows
    dh[:] = 0.0
    for b in range(rows):
        if pooling == FIRST_POOLING:
            for j in range(width):
                dh[b * length, j] = dout[b, j]
            continue
        valid = length if lengths.shape[0] == 0 else lengths[b]
        if valid == 0:
            continue
        inv = 1.0 / valid
        for t in range(valid):
            for j in range(width):
                dh[b * length + t, j] = dout[b, j] * inv
