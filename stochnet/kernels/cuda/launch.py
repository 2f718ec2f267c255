"""Launch geometry, host/device transfers and the kernel decorator shared by the CUDA
launchers."""

import math

import numpy as np
from numba import cuda

from ... import _config
from ..shared.math_source import softmax_exp
from ..shared.philox_source import (
    PHILOX_M0,
    PHILOX_M1,
    PHILOX_W0,
    PHILOX_W1,
    add,
    mul,
    philox4x32_10,
)
from .arrays import to_device

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

    @overload(softmax_exp, target="cuda")
    def _softmax_exp_cuda(x):
        return lambda x: math.exp(x)

    _M0, _M1 = np.uint32(PHILOX_M0), np.uint32(PHILOX_M1)
    _W0, _W1 = np.uint32(PHILOX_W0), np.uint32(PHILOX_W1)

    @overload(philox4x32_10, target="cuda")
    def _philox_cuda(c0, c1, c2, c3, k0, k1):
        # philox_source's rounds on 32-bit registers: the 64-bit products become
        # mul.hi/mul.lo pairs and every xor, shift and mask a single 32-bit operation.
        def rounds(c0, c1, c2, c3, k0, k1):
            x0, x1, x2, x3 = np.uint32(c0), np.uint32(c1), np.uint32(c2), np.uint32(c3)
            y0, y1 = np.uint32(k0), np.uint32(k1)
            for r in range(10):
                if r > 0:
                    y0 = np.uint32(y0 + _W0)
                    y1 = np.uint32(y1 + _W1)
                hi0, lo0 = libdevice.umulhi(_M0, x0), np.uint32(_M0 * x0)
                hi1, lo1 = libdevice.umulhi(_M1, x2), np.uint32(_M1 * x2)
                x0, x1, x2, x3 = np.uint32(hi1 ^ x1 ^ y0), lo1, np.uint32(hi0 ^ x3 ^ y1), lo0
            return np.uint64(x0), np.uint64(x1), np.uint64(x2), np.uint64(x3)

        return rounds


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
        on_gpu = to_device(host)
        if write:
            self._copies.append((array, on_gpu))
        return on_gpu

    def copy_back(self):
        for host, on_gpu in self._copies:
            host[...] = on_gpu.copy_to_host().reshape(host.shape)
        self._copies.clear()


def _is_array(value):
    return (
        isinstance(value, np.ndarray)
        or hasattr(value, "__cuda_array_interface__")
        or hasattr(value, "copy_to_host")
    )


def launch(kernel, n_items, *args, writes=()):
    """Launch ``kernel`` over ``n_items`` work items (nothing when 0) on ``args``: arrays
    go through a :class:`Transfer` (NumPy copied to the GPU; those at the positions in
    ``writes`` copied back after), other values are passed as they are."""
    if n_items <= 0:
        return
    transfer = Transfer()
    on_gpu = [
        transfer.device(a, write=i in writes) if _is_array(a) else a for i, a in enumerate(args)
    ]
    blocks, threads = grid(n_items)
    kernel[blocks, threads](*on_gpu)
    transfer.copy_back()


_SCALARS = (bool, int, float, np.number, np.bool_)
_NUMBA_PATH = "numba"  # a type key whose launches stay on Numba's path


class Kernel:
    """A ``@cuda.jit`` kernel (``dispatcher``) whose launches skip Numba's per-call work
    where they can.

    Numba types and marshals every argument at every launch: about 25 µs plus 7 µs per
    array argument on an H100 host, more than most of the training loop's kernels run.
    Here the first launch for given argument types goes through Numba (which compiles);
    after it, a launch looks the compiled kernel up by the arguments' types, takes each
    device array's marshalled form from the array (made once per array object: the
    loops reuse their views, see :mod:`.arrays`) and hands the kernel to ``cuda.core``.
    Arguments that are not Numba device arrays or scalars take Numba's path. Attribute
    access falls through to the dispatcher (``py_func``, ``overloads``, ...). The cached
    kernels belong to the process's CUDA context: after ``cuda.close()`` set
    ``_config.CUDA_FAST_LAUNCH = False`` (or start a new process).
    """

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self._compiled = {}

    def __getattr__(self, name):
        return getattr(self.dispatcher, name)

    def __getitem__(self, config):
        blocks, threads = config
        return lambda *args: self.launch(blocks, threads, args)

    def launch(self, blocks, threads, args):
        key = _type_key(args) if _config.CUDA_FAST_LAUNCH else None
        entry = self._compiled.get(key) if key is not None else None
        if entry is None or entry is _NUMBA_PATH:
            self.dispatcher[blocks, threads](*args)
            if key is not None and entry is None:
                self._compiled[key] = _fast_entry(self.dispatcher, args)
            return
        compiled, cu_kernel, types = entry
        packed = []
        for ty, value in zip(types, args, strict=True):
            if isinstance(value, _DeviceNDArray):
                packed.extend(_marshalled(compiled, ty, value))
            else:
                compiled._prepare_args(ty, value, 0, [], packed)
        _core_launch(_default_stream(), _launch_config(blocks, threads), cu_kernel, *packed)


def cuda_kernel(fn):
    """``cuda.jit`` for a kernel, wrapped in :class:`Kernel` on a GPU (the simulator
    gets the plain dispatcher)."""
    dispatcher = cuda.jit(fn)
    return dispatcher if cuda.config.ENABLE_CUDASIM else Kernel(dispatcher)


if not cuda.config.ENABLE_CUDASIM:  # what Kernel needs (it only exists on a GPU)
    import functools

    from cuda.core import LaunchConfig
    from cuda.core import launch as _core_launch
    from numba.cuda.cudadrv import driver
    from numba.cuda.cudadrv.devicearray import DeviceNDArray as _DeviceNDArray

    @functools.cache
    def _default_stream():
        return driver._to_core_stream(0)

    @functools.lru_cache(maxsize=1024)
    def _launch_config(blocks, threads):
        return LaunchConfig(grid=blocks, block=threads, shmem_size=0)


def _type_key(args):
    """What selects the compiled kernel: array types and scalar classes; ``None`` when an
    argument is neither a Numba device array nor a scalar."""
    key = []
    for value in args:
        if isinstance(value, _DeviceNDArray):
            key.append(value._numba_type_)
        elif isinstance(value, _SCALARS):
            key.append(type(value))
        else:
            return None
    return tuple(key)


def _fast_entry(dispatcher, args):
    types = tuple(dispatcher.typeof_pyval(a) for a in args)
    compiled = dispatcher.overloads.get(types)
    if compiled is None or compiled.extensions:  # compiled with conversions, or extended
        return _NUMBA_PATH
    return compiled, compiled._codelibrary.get_cufunc().kernel, types


def _marshalled(compiled, ty, array):
    packed = array.__dict__.get("_kernel_args")
    if packed is None:
        packed = []
        compiled._prepare_args(ty, array, 0, [], packed)
        packed = array.__dict__["_kernel_args"] = tuple(packed)
    return packed
