"""Numba ``@njit`` kernels. Outputs are preallocated by the caller."""
