"""Compile-time settings shared by every kernel.

``FASTMATH`` lets LLVM contract ``a * b + c`` into fused multiply-adds and ignore the
sign of zero in the dense math kernels. It deliberately leaves out ``nnan`` and
``ninf`` (attention masks use ``-inf``; divergence detection needs NaN to survive) and
``reassoc``: with it, the vectorised and scalar parts of one loop round differently and
the same kernel gave different bits when compiled in-process and when read from the
cache, so one seed no longer gave one model. Reductions that must be fast spell out
their partial sums instead (see ``kernels.cpu.optim``). Random-number kernels are
compiled without fast-math so that their bits never depend on the optimiser.
"""

FASTMATH = frozenset({"nsz", "arcp", "contract"})

#: Numba options for kernels that are pure functions of their arguments.
JIT = {"cache": True, "nogil": True}

#: Options for dense-math kernels.
JIT_MATH = {**JIT, "fastmath": set(FASTMATH)}

#: Rows per chunk when a whole data set is pushed through the network (predict,
#: full-batch loss): bounds the workspace at chunk × widest layer.
PREDICT_CHUNK_ROWS = 4096

#: CUDA threads per block (the simulator tests lower it).
THREADS_PER_BLOCK = 256

#: Matrix products on the GPU: "auto" (cuBLAS through CuPy when installed, else the
#: tiled kernel), "cublas" or "tiled" (see ``kernels.cuda.dense``).
CUDA_MATMUL = "auto"

#: Launch compiled CUDA kernels with cached argument marshalling instead of through
#: Numba's dispatcher after their first launch (see ``kernels.cuda.launch.Kernel``).
CUDA_FAST_LAUNCH = True
