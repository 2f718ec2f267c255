"""The plumbing no user calls: compiling and the kernel cache, thread counts, files,
lazy imports and device resolution. (``stochnet.precompile``,
``stochnet.set_num_threads`` and ``stochnet.get_num_threads`` are the public faces.)"""
