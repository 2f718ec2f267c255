"""Additive Gaussian input noise from Philox normals."""

import numpy as np
from numba import njit

from ..._config import JIT
from ..shared.philox_source import add, mul, normal_block


@njit(**JIT)
def add_gaussian_noise(x, std, key, stream, step, offset):
    """``x[i] += std * z_i`` for the flat ``x``; ``z_i`` is the normal at ``offset + i``.

    ``offset`` must be a multiple of 4. The normals are those of
    :func:`stochnet.random.normal` for the same counter indices.
    """
    n = x.shape[0]
    first = offset // 4
    for b in range((n + 3) // 4):
        z0, z1, z2, z3 = normal_block(key, stream, step, np.uint64(first + b))
        i = 4 * b
        x[i] = add(x[i], mul(std, z0))
        if i + 1 < n:
            x[i + 1] = add(x[i + 1], mul(std, z1))
        if i + 2 < n:
            x[i + 2] = add(x[i + 2], mul(std, z2))
        if i + 3 < n:
            x[i + 3] = add(x[i + 3], mul(std, z3))
