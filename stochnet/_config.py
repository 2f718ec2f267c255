"""Compile-time settings shared by every kernel.

``FASTMATH`` lets LLVM reassociate and contract floating-point arithmetic in the dense
math kernels. It deliberately leaves out ``nnan`` and ``ninf``: attention masks use
``-inf`` and divergence detection needs NaN to survive. Random-number kernels are
compiled without fast-math so that their bits never depend on the optimiser.
"""

FASTMATH = frozenset({"nsz", "arcp", "contract", "reassoc"})

#: Numba options for kernels that are pure functions of their arguments.
JIT = {"cache": True, "nogil": True}

#: Options for dense-math kernels.
JIT_MATH = {**JIT, "fastmath": set(FASTMATH)}

#: Rows per chunk when a whole data set is pushed through the network (predict,
#: full-batch loss): bounds the workspace at chunk × widest layer.
PREDICT_CHUNK_ROWS = 4096

#: CUDA threads per block (the simulator tests lower it).
THREADS_PER_BLOCK = 256
