"""Numba ``@njit`` kernels. Outputs are preallocated by the caller."""

from .. import _cache

# Before any kernel module is imported: cache entries of kernels must be stamped
# with the whole kernel tree (see ``_cache``).
_cache.register()
