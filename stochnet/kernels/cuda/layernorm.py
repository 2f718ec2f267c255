"""Layer normalisation on the GPU (see ``kernels.cpu.layernorm``): one thread per row,
and one per column for the parameter gradients."""

import math

from numba import cuda

from ..cpu.layernorm import LAYERNORM_EPS
from .launch import Transfer, grid


@cuda.jit
def _layernorm_forward(x, gamma, beta, xhat, rstd, y):
    n_rows, width = x.shape
    for i in range(cuda.grid(1), n_rows, cuda.gridsize(1)):
        mean = 0.0
        for j in range(width):
            mean += x[i, j]
        mean /= width
        var = 0.0
        for j in range(width):
            c = x[i, j] - mean
            var += c * c
        r = 1.0 / math.sqrt(var / width + LAYERNORM_EPS)
        rstd[i] = r
        for j in range(width):
            xh = (x[i, j] - mean) * r
            xhat[i, j] = xh
            y[i, j] = xh * gamma[j] + beta[j]


@cuda.jit
def _layernorm_param_grads(dy, xhat, dgamma, dbeta):
    j = cuda.grid(1)
    if j < dy.shape[1]:
        g = 0.0
        b = 0.0
        for i in range(dy.shape[0]):
            g += dy[i, j] * xhat[i, j]
            b += dy[i, j]
        dgamma[j] = g
        dbeta[j] = b


@cuda.jit
def _layernorm_input_grads(dy, gamma, xhat, rstd, dx):
    n_rows, width = dy.shape
    for i in range(cuda.grid(1), n_rows, cuda.gridsize(1)):
        mean_g = 0.0
        mean_gx = 0.0
        for j in range(width):
            g = dy[i, j] * gamma[j]
            mean_g += g
            mean_gx += g * xhat[i, j]
        mean_g /= width
        mean_gx /= width
        r = rstd[i]
        for j in range(width):  # reads dy[i, j] before writing dx[i, j]: dx may alias dy
            g = dy[i, j] * gamma[j]
            dx[i, j] = r * (g - mean_g - xhat[i, j] * mean_gx)


def layernorm_forward(x, gamma, beta, xhat, rstd, y):
    """Normalise each row of ``x`` into ``y``; ``xhat`` and ``rstd`` receive what
    :func:`layernorm_backward` needs. ``y`` may alias ``x``."""
    if x.shape[0] == 0:
        return
    transfer = Transfer()
    outs = [transfer.device(a) for a in (xhat, rstd, y)]
    blocks, threads = grid(x.shape[0])
    ins = [transfer.device(a, write=False) for a in (x, gamma, beta)]
    _layernorm_forward[blocks, threads](*ins, *outs)
    transfer.copy_back()


def layernorm_backward(dy, gamma, xhat, rstd, dgamma, dbeta, dx):
    """Gradients of one LayerNorm from ``dy`` (``dx`` may alias ``dy``)."""
    transfer = Transfer()
    d_dy, d_gamma, d_xhat, d_rstd = (transfer.device(a, write=False)
                                     for a in (dy, gamma, xhat, rstd))  # fmt: skip
    d_dgamma, d_dbeta, d_dx = (transfer.device(a) for a in (dgamma, dbeta, dx))
    blocks, threads = grid(dy.shape[1])
    _layernorm_param_grads[blocks, threads](d_dy, d_xhat, d_dgamma, d_dbeta)
    if dy.shape[0]:
        blocks, threads = grid(dy.shape[0])
        _layernorm_input_grads[blocks, threads](d_dy, d_gamma, d_xhat, d_rstd, d_dx)
    transfer.copy_back()
