"""Compiled kernels: ``cpu`` (Numba ``@njit``) and ``cuda`` (``@cuda.jit``, mirroring
``cpu`` file for file and name for name; ``tests/test_kernel_mirrors.py`` lists the few
deliberate differences).

``shared`` holds what both backends compile from one source: the Philox generator, the
activation, loss, softmax and LayerNorm formulas, crop geometry, and the records both
take (``TokenInput``, ``CSRMatrix``). ``codes`` holds the integer codes (by name:
``RELU``, ``SGD``, ...) and plans the engine passes them. Importing this package loads
no compiler: each backend package registers the kernel cache locators (see ``_cache``)
before its first kernel is defined.
"""
