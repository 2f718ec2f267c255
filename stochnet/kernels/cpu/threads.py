"""When a kernel runs a loop on Numba's threads.

A parallel region costs microseconds to start, and regions started from several
Python threads at once (many small fits side by side, one kernel thread each) wait for
one another. Every parallel loop in these kernels computes each iteration alone, so
running it serially gives the same bits; kernels take the parallel path only when it
can pay.
"""

from numba import njit, types

from ..._config import JIT

# The threading layer's own symbol (the one parallel loops call; registered when the
# pool starts, see ``kernels.cpu``): ``numba.get_num_threads`` inside a kernel goes
# through a ctypes pointer, a dynamic global that keeps its callers out of the cache.
_kernel_threads = types.ExternalFunction("get_num_threads", types.int32())


@njit(**JIT)
def in_parallel(work, threshold):
    """Whether a loop of ``work`` units (``threshold`` at least, for a parallel region
    to pay) runs on Numba's threads: only with more than one kernel thread set for the
    calling thread (``numba.set_num_threads``)."""
    return work >= threshold and _kernel_threads() > 1
