"""``@cuda.jit`` kernels mirroring ``kernels.cpu`` file for file and name for name
(``tests/test_kernel_mirrors.py`` lists the deliberate differences, with reasons).

Each module holds the kernels (``_``-prefixed) and host launchers with the CPU
functions' names and signatures; the formulas both compute come from
``kernels.shared``. Where a CPU function returns a per-batch scalar
(``batch.load_targets``' ``Σw``, ``losses.output_loss``' sum, the optimiser's weight
norms) the GPU version can write it to a GPU array instead, so that a training loop
never waits for the GPU. Extra modules: ``launch`` (geometry, transfers), ``reduce``
(deterministic sums), ``elementwise`` (fill, accumulate).

A launcher takes NumPy arrays (copied to the GPU and back) or GPU arrays (anything
with ``__cuda_array_interface__``: Numba device arrays, CuPy, PyTorch; used in place,
no copy). Every random kernel calls the Philox code of
``kernels.shared.philox_source`` that the CPU kernels inline, one counter block of four
words per thread in a grid-stride loop, so a draw depends on ``(key, stream, step,
index)`` only — never on the launch geometry — and equals the CPU draw bit for bit.

Importing these modules imports ``numba.cuda`` (``pip install stochnet[cuda]``); they
run on a GPU or on Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``).
"""
