"""Element-wise passes that run on a product's tile right after the BLAS wrote it.

:func:`.blas.affine_activate` and :func:`.blas.matmul_delta` hand each tile of their
output to a *finisher* on the thread that computed it, while the tile is still in that
core's cache: the hidden layers' activation, and in the backward pass the dropout mask,
the activation's derivative and the bias gradient's column sums. Done as passes of
their own, these ran on one thread over data that had left the cache.

An epilogue is a tuple of integers ``(op, code, first, second, sums, finisher)``:

* ``NONE``: nothing.
* ``ACTIVATE``: ``out = f(c)`` for the activation ``code``; ``first`` is the address of
  ``out`` (the shape and strides of ``c``).
* ``DELTA``: ``c *= mask`` (``second``: the mask's address, same layout; 0 for no
  dropout), then ``c *= f'(z)`` (``first``: ``z``, same layout), then the tile's column
  sums are added to row ``t`` of the zeroed ``tiles × n`` buffer at ``sums``.

``finisher`` is the address of this module's code compiled for the dtype as a C
callback (:func:`finisher`), called through a pointer: Numba re-optimises the code of
every callee inside each caller, so activations compiled into the tile loop would be
compiled again into every function above it.
"""

import functools

import numpy as np
from numba import carray, cfunc, njit, types

from ..._config import FASTMATH, JIT_MATH
from .activations import activate, activation_backward
from .dropout import dropout_backward
from .pointers import pointer

NONE = 0
ACTIVATE = 1
DELTA = 2


@njit(**JIT_MATH)
def no_epilogue():
    zero = np.int64(0)
    return np.int64(NONE), zero, zero, zero, zero, zero


@njit(**JIT_MATH)
def _view(address, offset, count, dtype, size):
    """``count`` elements of ``dtype`` (``size`` bytes each) from element ``offset`` of
    the block at ``address``."""
    return carray(pointer(address + offset * size), count, dtype)


@njit(**JIT_MATH)
def _finish_elements(op, code, c, first, second, offset, count, dtype, size):
    """The element-wise part on ``count`` contiguous elements from element ``offset`` of
    ``c`` (the same offset in the other operands)."""
    values = _view(c, offset, count, dtype, size)
    if op == ACTIVATE:
        activate(code, values, _view(first, offset, count, dtype, size))
        return
    if second != 0:
        dropout_backward(values, _view(second, offset, count, dtype, size))
    activation_backward(code, _view(first, offset, count, dtype, size), values)


@njit(**JIT_MATH)
def _finish(op, code, c, ld, n, r0, r1, c0, c1, t, first, second, sums, dtype, size):
    """The epilogue on rows ``r0:r1``, columns ``c0:c1`` of the row-major block ``c``
    (``ld`` elements per row, ``n`` columns), tile ``t`` of its product."""
    width = c1 - c0
    if ld == width:  # whole rows of a contiguous block: one flat pass
        _finish_elements(op, code, c, first, second, r0 * ld, (r1 - r0) * width, dtype, size)
    else:
        for i in range(r0, r1):
            _finish_elements(op, code, c, first, second, i * ld + c0, width, dtype, size)
    if op != DELTA:
        return
    tile_sums = _view(sums, t * n + c0, width, dtype, size)
    for i in range(r0, r1):
        row = _view(c, i * ld + c0, width, dtype, size)
        for j in range(width):
            tile_sums[j] += row[j]


def _finish_float32(op, code, c, ld, n, r0, r1, c0, c1, t, first, second, sums):
    _finish(op, code, c, ld, n, r0, r1, c0, c1, t, first, second, sums, np.float32, 4)


def _finish_float64(op, code, c, ld, n, r0, r1, c0, c1, t, first, second, sums):
    _finish(op, code, c, ld, n, r0, r1, c0, c1, t, first, second, sums, np.float64, 8)


#: ``void finish(op, code, c, ld, n, r0, r1, c0, c1, t, first, second, sums)``.
SIGNATURE = types.void(*(types.int64,) * 13)


@functools.cache
def finisher(dtype):
    """Address of the epilogue compiled for ``dtype`` (float32 or float64) as a C
    callback: compiled, or read from Numba's cache, on first use in a process."""
    body = _finish_float32 if np.dtype(dtype) == np.float32 else _finish_float64
    return cfunc(SIGNATURE, cache=True, fastmath=set(FASTMATH))(body).address
