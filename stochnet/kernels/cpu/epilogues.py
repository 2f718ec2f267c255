"""Element-wise passes that run on a product's tile right after the BLAS wrote it.

:func:`.blas.affine_activate` and :func:`.blas.matmul_delta` hand a tile of their
output to :func:`finish_tile` on the thread that computed it, while the tile is still
in that core's cache: the hidden layers' activation, and in the backward pass the
dropout mask, the activation's derivative and the bias gradient's column sums. Done
as passes of their own, these ran on one thread over data that had left the cache.

An epilogue is a tuple of integers ``(op, code, address_1, address_2, address_3)``:

* ``NONE``: nothing.
* ``ACTIVATE``: ``out = f(c)`` for the activation ``code``; ``address_1`` is ``out``
  (same shape and strides as ``c``).
* ``DELTA``: ``c *= mask`` (``address_2``, same layout as ``c``; 0 for no dropout),
  then ``c *= f'(z)`` (``address_1``: ``z``, same layout), then the tile's column sums
  are added to row ``t`` of the ``tiles × n`` zeroed buffer at ``address_3``.

The addresses keep :func:`.blas._gemm_tiles` compiled once for both dtypes.
"""

import numpy as np
from numba import carray, njit

from ..._config import JIT_MATH
from .activations import activate, activation_backward
from .dropout import dropout_backward
from .pointers import pointer

NONE = 0
ACTIVATE = 1
DELTA = 2


@njit(**JIT_MATH)
def no_epilogue():
    return np.int64(NONE), np.int64(0), np.int64(0), np.int64(0), np.int64(0)


@njit(**JIT_MATH)
def _view(address, offset, count, dtype, size):
    """``count`` elements of ``dtype`` (``size`` bytes each) from element ``offset`` of
    the block at ``address``."""
    return carray(pointer(address + offset * size), count, dtype)


@njit(**JIT_MATH)
def _finish_rows(epilogue, c, offset, count, dtype, size):
    """The epilogue's element-wise part on ``count`` contiguous elements from element
    ``offset`` of ``c`` (the same offset in the other operands)."""
    op, code, first, second, _ = epilogue
    values = _view(c, offset, count, dtype, size)
    if op == ACTIVATE:
        activate(code, values, _view(first, offset, count, dtype, size))
        return
    if second != 0:
        dropout_backward(values, _view(second, offset, count, dtype, size))
    activation_backward(code, _view(first, offset, count, dtype, size), values)


@njit(**JIT_MATH)
def _finish(epilogue, c, ld, n, r0, r1, c0, c1, t, dtype, size):
    width = c1 - c0
    if ld == width:  # whole rows of a contiguous block: one flat pass
        _finish_rows(epilogue, c, r0 * ld, (r1 - r0) * width, dtype, size)
    else:
        for i in range(r0, r1):
            _finish_rows(epilogue, c, i * ld + c0, width, dtype, size)
    if epilogue[0] != DELTA:
        return
    sums = _view(epilogue[4], t * n + c0, width, dtype, size)
    for i in range(r0, r1):
        row = _view(c, i * ld + c0, width, dtype, size)
        for j in range(width):
            sums[j] += row[j]


@njit(**JIT_MATH)
def finish_tile(epilogue, size, c, ld, n, r0, r1, c0, c1, t):
    """Run ``epilogue`` on rows ``r0:r1``, columns ``c0:c1`` of the row-major block
    ``c`` (address; ``ld`` elements per row, ``n`` columns, items of ``size`` bytes),
    tile ``t`` of its product."""
    if epilogue[0] == NONE:
        return
    if size == 4:
        _finish(epilogue, c, ld, n, r0, r1, c0, c1, t, np.float32, 4)
    else:
        _finish(epilogue, c, ld, n, r0, r1, c0, c1, t, np.float64, 8)
