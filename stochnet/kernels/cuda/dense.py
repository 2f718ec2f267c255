"""Dense layer forward and backward on the GPU (see ``kernels.cpu.dense``).

Matrix products go through cuBLAS when CuPy is installed (zero-copy views through
``__cuda_array_interface__``), else through kernels that always work: a tiled
shared-memory kernel (``TILE × TILE`` threads per block, one output element per thread,
batched over the grid's z axis: the attention kernels multiply one matrix pair per
sequence and head), or, for short inner dimensions, one thread per output without
shared memory. ``_config.CUDA_MATMUL`` forces one path (``"auto"``, ``"cublas"``,
``"tiled"``).
"""

import functools

import numpy as np
from numba import cuda, float32, float64

from ... import _config
from ..shared.math_source import cast_like
from .launch import Transfer, cuda_kernel, grid

TILE = 16


def _tiled_matmul(dtype):
    @cuda_kernel
    def kernel(a, b, c, trans_a, trans_b):
        tile_a = cuda.shared.array((TILE, TILE), dtype)
        tile_b = cuda.shared.array((TILE, TILE), dtype)
        z = cuda.blockIdx.z
        ty = cuda.threadIdx.y
        tx = cuda.threadIdx.x
        i = cuda.blockIdx.y * TILE + ty
        j = cuda.blockIdx.x * TILE + tx
        m = c.shape[1]
        n = c.shape[2]
        k = a.shape[1] if trans_a else a.shape[2]
        acc = dtype(0.0)
        for t0 in range(0, k, TILE):
            p = t0 + tx
            if i < m and p < k:
                tile_a[ty, tx] = a[z, p, i] if trans_a else a[z, i, p]
            else:
                tile_a[ty, tx] = 0.0
            q = t0 + ty
            if q < k and j < n:
                tile_b[ty, tx] = b[z, j, q] if trans_b else b[z, q, j]
            else:
                tile_b[ty, tx] = 0.0
            cuda.syncthreads()
            for s in range(TILE):
                acc += tile_a[ty, s] * tile_b[s, tx]
            cuda.syncthreads()
        if i < m and j < n:
            c[z, i, j] = acc

    return kernel


_matmul_f32 = _tiled_matmul(float32)
_matmul_f64 = _tiled_matmul(float64)


@cuda_kernel
def _matmul_flat(a, b, c, trans_a, trans_b):
    batch, m, n = c.shape
    k = a.shape[1] if trans_a else a.shape[2]
    for e in range(cuda.grid(1), batch * m * n, cuda.gridsize(1)):
        j = e % n
        i = (e // n) % m
        z = e // (m * n)
        acc = cast_like(c, 0.0)
        for p in range(k):
            x = a[z, p, i] if trans_a else a[z, i, p]
            y = b[z, j, p] if trans_b else b[z, p, j]
            acc += x * y
        c[z, i, j] = acc


#: Products with an inner dimension up to this (per-head attention products, narrow
#: layers) use one thread per output and no shared memory; longer ones use tiles.
_FLAT_MAX_K = 32


@functools.cache
def _cupy():
    if cuda.config.ENABLE_CUDASIM:
        return None
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def matmul_backend():
    """``"cublas"`` or ``"tiled"``: what :func:`matmul` uses under the current settings."""
    choice = _config.CUDA_MATMUL
    if choice not in ("auto", "cublas", "tiled"):
        raise ValueError(f"CUDA_MATMUL must be 'auto', 'cublas' or 'tiled', got {choice!r}.")
    if choice == "cublas" and _cupy() is None:
        raise RuntimeError("CUDA_MATMUL='cublas' needs CuPy on a GPU (pip install cupy-cuda13x).")
    if choice == "tiled" or _cupy() is None:
        return "tiled"
    return "cublas"


def _cupy_view(a, transpose):
    """A CuPy view of the GPU array ``a`` (last two axes swapped if ``transpose``), kept on
    ``a`` when ``a`` is a Numba device array: the training loops multiply the same views
    every batch, and a fresh CuPy view costs more host time than a small product."""
    cp = _cupy()
    cache = getattr(a, "__dict__", None) if hasattr(a, "gpu_data") else None
    if cache is None:
        view = cp.asarray(a)
        return view.swapaxes(-1, -2) if transpose else view
    views = cache.get("_cupy_views")
    if views is None:
        # Owned by the memory, not by ``a``: no reference cycle through ``a.__dict__``.
        memory = cp.cuda.UnownedMemory(
            a.device_ctypes_pointer.value or 0, a.gpu_data.size, owner=a.gpu_data
        )
        view = cp.ndarray(a.shape, a.dtype, cp.cuda.MemoryPointer(memory, 0), strides=a.strides)
        views = cache["_cupy_views"] = (view, view.swapaxes(-1, -2))
    return views[1] if transpose else views[0]


def _as3d(a):
    return a.reshape((1, *a.shape)) if len(a.shape) == 2 else a


def matmul(a, b, c, trans_a=False, trans_b=False):
    """``c = op(a) @ op(b)`` on GPU arrays, ``op`` a transpose of the last two axes where
    asked; 2-D, or 3-D batched over the first axis. ``c`` is C-contiguous."""
    if len(c.shape) == 0 or 0 in tuple(c.shape):
        return
    if matmul_backend() == "cublas":
        _cupy().matmul(_cupy_view(a, trans_a), _cupy_view(b, trans_b), out=_cupy_view(c, False))
        return
    a3, b3, c3 = _as3d(a), _as3d(b), _as3d(c)
    k = a3.shape[1] if trans_a else a3.shape[2]
    if k <= _FLAT_MAX_K:
        flat_matmul(a3, b3, c3, trans_a, trans_b)
    else:
        tiled_matmul(a3, b3, c3, trans_a, trans_b)


def tiled_matmul(a, b, c, trans_a=False, trans_b=False):
    """:func:`matmul` of 3-D GPU arrays through the shared-memory tiles."""
    batch, m, n = c.shape
    blocks = (-(-n // TILE), -(-m // TILE), batch)
    kernel = _matmul_f32 if c.dtype == np.float32 else _matmul_f64
    kernel[blocks, (TILE, TILE)](a, b, c, bool(trans_a), bool(trans_b))


def flat_matmul(a, b, c, trans_a=False, trans_b=False):
    """:func:`matmul` of 3-D GPU arrays, one thread per output element."""
    blocks, threads = grid(c.shape[0] * c.shape[1] * c.shape[2])
    _matmul_flat[blocks, threads](a, b, c, bool(trans_a), bool(trans_b))


@cuda_kernel
def _add_bias(z, b):
    n_out = z.shape[1]
    for e in range(cuda.grid(1), z.shape[0] * n_out, cuda.gridsize(1)):
        z[e // n_out, e % n_out] += b[e % n_out]


@cuda_kernel
def _column_sums(dz, out):
    j = cuda.grid(1)
    if j < dz.shape[1]:
        total = 0.0
        for i in range(dz.shape[0]):
            total += dz[i, j]
        out[j] = total


def column_sums(x, out):
    """``out = x.sum(0)`` in row order, one thread per column."""
    blocks, threads = grid(x.shape[1])
    _column_sums[blocks, threads](x, out)


def dense_forward(x, w, b, z):
    """``z = x @ w + b`` for ``x`` (rows × n_in), ``w`` (n_in × n_out), ``b`` (n_out)."""
    transfer = Transfer()
    d_x, d_w, d_b = (transfer.device(a, write=False) for a in (x, w, b))
    d_z = transfer.device(z)
    if z.shape[0]:
        matmul(d_x, d_w, d_z)
        blocks, threads = grid(z.shape[0] * z.shape[1])
        _add_bias[blocks, threads](d_z, d_b)
    transfer.copy_back()


def dense_backward(x, w, dz, gw, gb, dx):
    """``gw = x.T @ dz``, ``gb = dz.sum(0)`` and, when ``dx`` has rows, ``dx = dz @ w.T``."""
    transfer = Transfer()
    d_x, d_w, d_dz = (transfer.device(a, write=False) for a in (x, w, dz))
    d_gw, d_gb, d_dx = transfer.device(gw), transfer.device(gb), transfer.device(dx)
    matmul(d_x, d_dz, d_gw, trans_a=True)
    column_sums(d_dz, d_gb)
    if dx.shape[0] > 0:
        matmul(d_dz, d_w, d_dx, trans_b=True)
    transfer.copy_back()
