"""Compiled kernels: ``cpu`` (Numba ``@njit``) and, later, ``cuda`` (``@cuda.jit``).

``philox_source`` holds the backend-neutral primitives that both compile.
"""

from . import _cache

# Before any kernel module is imported: cache entries of kernels must be stamped
# with the whole kernel tree (see ``_cache``).
_cache.register()
