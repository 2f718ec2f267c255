"""Compiled kernels: ``cpu`` (Numba ``@njit``) and, later, ``cuda`` (``@cuda.jit``).

``philox_source`` holds the backend-neutral primitives that both compile.
"""
