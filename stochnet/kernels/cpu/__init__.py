"""Numba ``@njit`` kernels. Outputs are preallocated by the caller."""

import numba

from ..._runtime import cache, compiling, threads

# Before any kernel module is imported: cache entries of kernels must be stamped
# with the whole kernel tree (see ``_cache``), and compiles announced, timed and
# shared between processes (see ``_compiling``).
cache.register()
compiling.install()

# Start Numba's thread pool before any kernel is read from the cache. A cached kernel
# that calls a parallel one refers to the threading layer's symbols
# (``do_scheduling_unsigned``, ...), which Numba registers only when the pool starts;
# loaded earlier, its relocations fail silently and its first call jumps to address 0.
# (Seen when the kernel was compiled in a process that had read its parallel callees
# from the cache, and loaded in the next process; numba/numba#8578.)
numba.get_num_threads()
# threadpoolctl's limits (and joblib's for its workers) reach that pool.
threads.register_controller()
