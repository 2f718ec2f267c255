"""Code and records written once for both backends.

``philox_source`` (the counter-based generator), ``math_source`` (activations, losses,
softmax and LayerNorm rows, dtype helpers) and ``crop_source`` (crop geometry) are
``register_jitable`` functions that the CPU kernels inline, the CUDA kernels compile as
device functions, and the CUDA simulator runs as Python; ``records`` holds the named
tuples both take. Nothing here depends on a backend.
"""
