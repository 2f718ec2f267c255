"""Compiled kernels: ``cpu`` (Numba ``@njit``) and, later, ``cuda`` (``@cuda.jit``).

``philox_source`` holds the backend-neutral primitives that both compile; ``codes`` the
integer codes and plain records the engine shares with them. Importing this package
loads no compiler: each backend package registers the kernel cache locators (see
``_cache``) before its first kernel is defined.
"""
