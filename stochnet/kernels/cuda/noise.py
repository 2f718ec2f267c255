"""Additive Gaussian input noise on the GPU (see ``kernels.cpu.noise``)."""

import numpy as np
from numba import cuda

from ..shared.philox_source import add, mul, normal_block
from .launch import Transfer, cuda_kernel, grid


@cuda_kernel
def _add_gaussian_noise(x, std, key, stream, step, first):
    n = x.shape[0]
    for b in range(cuda.grid(1), (n + 3) // 4, cuda.gridsize(1)):
        z0, z1, z2, z3 = normal_block(key, stream, step, np.uint64(first + b))
        i = 4 * b
        x[i] = add(x[i], mul(std, z0))
        if i + 1 < n:
            x[i + 1] = add(x[i + 1], mul(std, z1))
        if i + 2 < n:
            x[i + 2] = add(x[i + 2], mul(std, z2))
        if i + 3 < n:
            x[i + 3] = add(x[i + 3], mul(std, z3))


def add_gaussian_noise(x, std, key, stream, step, offset):
    """``x[i] += std * z_i`` for the flat ``x``; ``z_i`` is the normal at ``offset + i``
    (``offset`` a multiple of 4)."""
    if x.shape[0] == 0:
        return
    transfer = Transfer()
    d_x = transfer.device(x)
    blocks, threads = grid((x.shape[0] + 3) // 4)
    _add_gaussian_noise[blocks, threads](
        d_x,
        np.float64(std),
        np.uint64(key),
        np.uint64(stream),
        np.uint64(step),
        np.int64(offset // 4),
    )
    transfer.copy_back()
