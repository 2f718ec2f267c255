"""The network's input layer for dense and CSR-sparse data, chosen by type at compile time.

Dense batches are gathered into the workspace (layer 0 of ``a``); sparse batches are
gathered into CSR buffers and multiplied without densifying. ``load_batch``,
``input_forward``, ``input_forward_activate``, ``input_weight_gradient`` and
``add_input_noise`` dispatch on the type of ``X`` (a 2-D array or a
``shared.records.CSRMatrix``), so one epoch loop serves both.
"""

import numpy as np
from numba import njit, types
from numba.extending import overload

from ..._config import JIT, JIT_MATH
from ..codes import STREAMS
from ..shared.records import CSRBuffers
from .activations import activate
from .batch import load_rows
from .blas import affine_activate, matmul
from .crop import centre_offsets, crop_offsets, crop_row
from .dense import dense_forward
from .noise import add_gaussian_noise

_CROP = np.uint64(STREAMS["crop"])


@njit(**JIT)
def _gather_csr(X, order, start, rows, buf):
    """Copy rows ``order[start : start + rows]`` of CSR ``X`` into ``buf``; returns
    the batch as a ``CSRBuffers`` of views."""
    use_order = order.shape[0] > 0
    nnz = 0
    buf.indptr[0] = 0
    for r in range(rows):
        src = order[start + r] if use_order else start + r
        for p in range(X.indptr[src], X.indptr[src + 1]):
            buf.data[nnz] = X.data[p]
            buf.indices[nnz] = X.indices[p]
            nnz += 1
        buf.indptr[r + 1] = nnz
    return CSRBuffers(buf.data[:nnz], buf.indices[:nnz], buf.indptr[: rows + 1])


@njit(**JIT_MATH)
def _sparse_forward(x, w, b, z):
    """``z = x @ w + b`` for a CSR batch ``x``: a sum of weight rows per nonzero."""
    n_rows, n_out = z.shape
    for r in range(n_rows):
        for j in range(n_out):
            z[r, j] = b[j]
        for p in range(x.indptr[r], x.indptr[r + 1]):
            v = x.data[p]
            row = w[x.indices[p]]
            for j in range(n_out):
                z[r, j] += v * row[j]


@njit(**JIT_MATH)
def _sparse_weight_gradient(x, dz, gw):
    """``gw = x.T @ dz`` for a CSR batch ``x``."""
    gw[...] = 0.0
    n_out = dz.shape[1]
    for r in range(dz.shape[0]):
        for p in range(x.indptr[r], x.indptr[r + 1]):
            v = x.data[p]
            row = gw[x.indices[p]]
            for j in range(n_out):
                row[j] += v * dz[r, j]


def _is_dense(X):
    return isinstance(X, types.Array)


def load_batch(X, order, start, rows, dense_dest, sparse_buf, crop, randomize, key, step):
    """The batch's input: a dense block (copied, or cropped, into ``dense_dest``) or
    CSR views. With an active ``crop``, each row is cropped at its random offsets
    (``randomize``: the ``"crop"`` stream at ``step``) or at the centre."""


@overload(load_batch, jit_options=JIT)
def _load_batch(X, order, start, rows, dense_dest, sparse_buf, crop, randomize, key, step):
    if _is_dense(X):

        def dense(X, order, start, rows, dense_dest, sparse_buf, crop, randomize, key, step):
            if not crop.active:
                load_rows(X, order, start, rows, dense_dest)
                return dense_dest
            use_order = order.shape[0] > 0
            for r in range(rows):
                src = order[start + r] if use_order else start + r
                if randomize:
                    oy, ox = crop_offsets(crop, key, _CROP, step, src)
                else:
                    oy, ox = centre_offsets(crop)
                crop_row(X[src], dense_dest[r], crop, oy, ox)
            return dense_dest

        return dense
    return lambda X, order, start, rows, dense_dest, sparse_buf, crop, randomize, key, step: (
        _gather_csr(X, order, start, rows, sparse_buf)
    )


def input_forward(x, w, b, z):
    """First-layer pre-activations for a dense or CSR batch."""


@overload(input_forward, jit_options=JIT)
def _input_forward(x, w, b, z):
    if _is_dense(x):
        return lambda x, w, b, z: dense_forward(x, w, b, z)
    return lambda x, w, b, z: _sparse_forward(x, w, b, z)


def input_forward_activate(x, w, b, z, out, code, finisher):
    """First-layer pre-activations ``z`` and activations ``out = f(z)`` (activation
    ``code``) for a dense or CSR batch (``finisher``: see :func:`.blas.affine_activate`)."""


@overload(input_forward_activate, jit_options=JIT)
def _input_forward_activate(x, w, b, z, out, code, finisher):
    if _is_dense(x):
        return lambda x, w, b, z, out, code, finisher: affine_activate(
            x, w, b, z, out, code, finisher
        )

    def sparse(x, w, b, z, out, code, finisher):
        _sparse_forward(x, w, b, z)
        activate(code, z.reshape(z.size), out.reshape(out.size))

    return sparse


def input_weight_gradient(x, dz, gw):
    """First-layer weight gradient sums ``gw = x.T @ dz`` for a dense or CSR batch."""


@overload(input_weight_gradient, jit_options=JIT)
def _input_weight_gradient(x, dz, gw):
    if _is_dense(x):
        return lambda x, dz, gw: matmul(x.T, dz, gw)
    return lambda x, dz, gw: _sparse_weight_gradient(x, dz, gw)


def add_input_noise(x, std, key, stream, step):
    """Gaussian input noise on a dense batch (sparse input takes none: it would densify)."""


@overload(add_input_noise, jit_options=JIT)
def _add_input_noise(x, std, key, stream, step):
    if _is_dense(x):
        return lambda x, std, key, stream, step: add_gaussian_noise(
            x.reshape(x.size), std, key, stream, step, 0
        )
    return lambda x, std, key, stream, step: None
