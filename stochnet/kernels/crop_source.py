"""Crop geometry written once for every backend (``register_jitable``, as
``philox_source``): the CPU and CUDA crop kernels inline the same arithmetic."""

from numba.extending import register_jitable


@register_jitable
def source_index(p, n, pad, mode):
    """Index into the unpadded axis of length ``n`` for padded position ``p``
    (``-1``: a constant-zero pad). ``reflect`` mirrors without repeating the edge."""
    i = p - pad
    if 0 <= i < n:
        return i
    if mode == 0:
        return -1
    if mode == 2:
        return 0 if i < 0 else n - 1
    return -i if i < 0 else 2 * (n - 1) - i
