"""Layer normalisation on the GPU (see ``kernels.cpu.layernorm``; the row code is the
CPU's, from ``math_source``): one thread per row, one per column for the parameter
gradients."""

from numba import cuda

from ..shared.math_source import layernorm_grad_row, layernorm_row
from .launch import cuda_kernel, launch


@cuda_kernel
def _layernorm_forward(x, gamma, beta, xhat, rstd, y):
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        layernorm_row(x, gamma, beta, xhat, rstd, y, i)


@cuda_kernel
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


@cuda_kernel
def _layernorm_input_grads(dy, gamma, xhat, rstd, dx):
    for i in range(cuda.grid(1), dy.shape[0], cuda.gridsize(1)):
        layernorm_grad_row(dy, gamma, xhat, rstd, dx, i)


def layernorm_forward(x, gamma, beta, xhat, rstd, y):
    """Normalise each row of ``x`` into ``y``; ``xhat`` and ``rstd`` receive what
    :func:`layernorm_backward` needs. ``y`` may alias ``x``."""
    launch(_layernorm_forward, x.shape[0], x, gamma, beta, xhat, rstd, y, writes=(3, 4, 5))


def layernorm_backward(dy, gamma, xhat, rstd, dgamma, dbeta, dx):
    """Gradients of one LayerNorm from ``dy`` (``dx`` may alias ``dy``)."""
    launch(_layernorm_param_grads, dy.shape[1], dy, xhat, dgamma, dbeta, writes=(2, 3))
    launch(_layernorm_input_grads, dy.shape[0], dy, gamma, xhat, rstd, dx, writes=(4,))
