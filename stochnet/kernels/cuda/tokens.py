"""Tokens in and out of the encoder on the GPU (see ``kernels.cpu.tokens``): input
embedding, padding, pooling; one thread per output element, sums in a fixed order."""

import numpy as np
from numba import cuda

from ..codes import FIRST_POOLING
from .dense import matmul
from .launch import Transfer, cuda_kernel, launch


@cuda_kernel
def _clear_padding(x, lengths, d_in):
    n_cols = x.shape[1]
    for e in range(cuda.grid(1), x.shape[0] * n_cols, cuda.gridsize(1)):
        b = e // n_cols
        if e - b * n_cols >= lengths[b] * d_in:
            x[b, e - b * n_cols] = 0.0


@cuda_kernel
def _add_positions(h, pos):
    length, width = pos.shape
    for e in range(cuda.grid(1), h.shape[0] * width, cuda.gridsize(1)):
        r = e // width
        j = e - r * width
        h[r, j] += pos[r % length, j]


@cuda_kernel
def _embed_per_token(x, w, pos, h):
    length, width = pos.shape
    d_in = w.shape[1]
    for e in range(cuda.grid(1), h.shape[0] * width, cuda.gridsize(1)):
        r = e // width
        j = e - r * width
        b = r // length
        t = r - b * length
        acc = pos[t, j]
        for i in range(d_in):
            acc += x[b, t * d_in + i] * w[t, i, j]
        h[r, j] = acc


@cuda_kernel
def _position_grads(dh, gpos):
    length, width = gpos.shape
    rows = dh.shape[0] // length
    for e in range(cuda.grid(1), length * width, cuda.gridsize(1)):
        t = e // width
        j = e - t * width
        acc = 0.0
        for b in range(rows):
            acc += dh[b * length + t, j]
        gpos[t, j] = acc


@cuda_kernel
def _embed_per_token_grads(x, dh, gw):
    length, d_in, width = gw.shape
    rows = x.shape[0]
    for e in range(cuda.grid(1), length * d_in * width, cuda.gridsize(1)):
        j = e % width
        i = (e // width) % d_in
        t = e // (width * d_in)
        acc = 0.0
        for b in range(rows):
            acc += x[b, t * d_in + i] * dh[b * length + t, j]
        gw[t, i, j] = acc


@cuda_kernel
def _pool_forward(h, lengths, pooling, out):
    rows, width = out.shape
    length = h.shape[0] // rows
    for e in range(cuda.grid(1), rows * width, cuda.gridsize(1)):
        b = e // width
        j = e - b * width
        if pooling == FIRST_POOLING:
            out[b, j] = h[b * length, j]
            continue
        valid = length if lengths.shape[0] == 0 else lengths[b]
        acc = 0.0
        for t in range(valid):
            acc += h[b * length + t, j]
        out[b, j] = acc * (1.0 / valid) if valid > 0 else 0.0


@cuda_kernel
def _pool_backward(dout, lengths, pooling, dh):
    rows, width = dout.shape
    length = dh.shape[0] // rows
    for e in range(cuda.grid(1), dh.shape[0] * width, cuda.gridsize(1)):
        r = e // width
        j = e - r * width
        b = r // length
        t = r - b * length
        value = 0.0
        if pooling == FIRST_POOLING:
            if t == 0:
                value = dout[b, j]
        else:
            valid = length if lengths.shape[0] == 0 else lengths[b]
            if t < valid:
                value = dout[b, j] * (1.0 / valid)
        dh[r, j] = value


def clear_padding(x, lengths, d_in):
    """Zero the features of padding tokens (they may hold NaN padding values)."""
    if lengths.shape[0]:
        launch(_clear_padding, x.shape[0] * x.shape[1], x, lengths, np.int64(d_in), writes=(0,))


def embed_forward(x, w, pos, h):
    """Token rows ``h`` (``rows·T × d_model``) from the input block ``x``."""
    transfer = Transfer()
    d_x, d_w, d_pos = (transfer.device(a, write=False) for a in (x, w, pos))
    d_h = transfer.device(h)
    length, width = pos.shape
    rows = x.shape[0]
    if rows:
        if w.shape[0] == 1:
            matmul(d_x.reshape((rows * length, w.shape[1])), d_w[0], d_h)
            launch(_add_positions, h.shape[0] * width, d_h, d_pos)
        else:
            launch(_embed_per_token, h.shape[0] * width, d_x, d_w, d_pos, d_h)
    transfer.copy_back()


def embed_backward(x, dh, gw, gpos):
    """Gradient sums of the embedding weights ``gw`` and positions ``gpos``."""
    transfer = Transfer()
    d_x, d_dh = transfer.device(x, write=False), transfer.device(dh, write=False)
    d_gw, d_gpos = transfer.device(gw), transfer.device(gpos)
    length, width = gpos.shape
    launch(_position_grads, length * width, d_dh, d_gpos)
    if gw.shape[0] == 1:
        matmul(d_x.reshape((x.shape[0] * length, gw.shape[1])), d_dh, d_gw[0], trans_a=True)
    else:
        launch(_embed_per_token_grads, int(np.prod(gw.shape)), d_x, d_dh, d_gw)
    transfer.copy_back()


def pool_forward(h, lengths, pooling, out):
    """One row per sequence: the mean over its non-padding tokens (``pooling`` 0) or its
    first token (1)."""
    launch(
        _pool_forward, out.shape[0] * out.shape[1], h, lengths, np.int64(pooling), out, writes=(3,)
    )


def pool_backward(dout, lengths, pooling, dh):
    """Token-row gradients ``dh`` from the pooled-row gradients ``dout``."""
    launch(
        _pool_backward, dh.shape[0] * dh.shape[1], dout, lengths, np.int64(pooling), dh, writes=(3,)
    )
