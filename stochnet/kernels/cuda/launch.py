"""Launch geometry and host/device transfers shared by the CUDA launchers."""

import numpy as np
from numba import cuda

from ... import _config
from ..philox_source import add, mul

if not cuda.config.ENABLE_CUDASIM:  # the simulator runs philox_source's Python as is
    from numba.cuda import libdevice
    from numba.cuda.extending import overload

    # Never-fused IEEE products and sums, so the normals equal the CPU's bit for bit
    # (see ``philox_source``).
    @overload(mul, target="cuda")
    def _mul_cuda(a, b):
        return lambda a, b: libdevice.dmul_rn(a, b)

    @overload(add, target="cuda")
    def _add_cuda(a, b):
        return lambda a, b: libdevice.dadd_rn(a, b)


#: Upper bound on the blocks of one launch; grid-stride loops cover the rest.
MAX_BLOCKS = 4096


def grid(n_items):
    """``(blocks, threads)`` for ``n_items`` work items (``_config.THREADS_PER_BLOCK``)."""
    threads = int(_config.THREADS_PER_BLOCK)
    return max(1, min(-(-int(n_items) // threads), MAX_BLOCKS)), threads


class Transfer:
    """A launcher's view of its array arguments.

    ``device(a)`` returns a GPU array for ``a``: ``a`` itself when it already lives on
    the GPU, else a copy; :meth:`copy_back` writes the results into the NumPy arrays
    that were copied (the ``out`` arguments), so launchers keep the CPU functions'
    in-place contract either way.
    """

    def __init__(self):
        self._copies = []

    def device(self, array, write=True):
        if not isinstance(array, np.ndarray):
            if hasattr(array, "copy_to_host"):  # a Numba device array (or the simulator's)
                return array
            if hasattr(array, "__cuda_array_interface__"):
                return cuda.as_cuda_array(array)
        host = np.ascontiguousarray(array)
        on_gpu = cuda.to_device(host)
        if write:
            self._copies.append((array, on_gpu))
        return on_gpu

    def copy_back(self):
        for host, on_gpu in self._copies:
            host[...] = on_gpu.copy_to_host().reshape(host.shape)
        self._copies.clear()


def _is_array(value):
    return isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__") or \
        hasattr(value, "copy_to_host")  # fmt: skip


def launch(kernel, n_items, *args, writes=()):
    """Launch ``kernel`` over ``n_items`` work items (nothing when 0) on ``args``: arrays
    go through a :class:`Transfer` (NumPy copied to the GPU; those at the positions in
    ``writes`` copied back after), other values are passed as they are."""
    if n_items <= 0:
        return
    transfer = Transfer()
    on_gpu = [transfer.device(a, write=i in writes) if _is_array(a) else a
              for i, a in enumerate(args)]  # fmt: skip
    blocks, threads = grid(n_items)
    kernel[blocks, threads](*on_gpu)
    transfer.copy_back()
