"""Elementwise helpers of the GPU loops: fill and accumulate flat GPU arrays."""

import numpy as np
from numba import cuda

from .launch import cuda_kernel, launch


@cuda_kernel
def _fill(x, value):
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        x[i] = value


@cuda_kernel
def _add_into(dst, src):
    for i in range(cuda.grid(1), dst.shape[0], cuda.gridsize(1)):
        dst[i] += src[i]


def fill(x, value):
    """``x[:] = value`` for a flat GPU array."""
    launch(_fill, x.shape[0], x, np.float64(value))


def add_into(dst, src):
    """``dst += src`` for flat GPU arrays of one shape."""
    launch(_add_into, dst.shape[0], dst, src)
