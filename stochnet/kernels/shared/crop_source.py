"""Crop geometry written once for every backend (``register_jitable``, as
``philox_source``): the CPU and CUDA crop kernels inline the same arithmetic."""

import numpy as np
from numba.extending import register_jitable

from ..codes import PAD_CONSTANT, PAD_EDGE
from .philox_source import SHIFT32, block_bits


@register_jitable
def source_index(p, n, pad, mode):
    """Index into the unpadded axis of length ``n`` for padded position ``p``
    (``-1``: a constant-zero pad). ``reflect`` mirrors without repeating the edge."""
    i = p - pad
    if 0 <= i < n:
        return i
    if mode == PAD_CONSTANT:
        return -1
    if mode == PAD_EDGE:
        return 0 if i < 0 else n - 1
    return -i if i < 0 else 2 * (n - 1) - i


@register_jitable
def sample_offsets(key, stream, step, sample, range_h, range_w):
    """Random corner ``(oy, ox)`` in ``[0, range_h] × [0, range_w]`` of sample ``sample``:
    words ``2·sample`` and ``2·sample + 1`` of the stream at ``step``."""
    words = block_bits(key, stream, step, np.uint64(sample >> 1))
    lane = 2 * (sample & 1)
    oy = (words[lane] * np.uint64(range_h + 1)) >> SHIFT32
    ox = (words[lane + 1] * np.uint64(range_w + 1)) >> SHIFT32
    return np.int64(oy), np.int64(ox)


@register_jitable
def copy_crop(
    src, dest, height, width, channels, out_height, out_width, pad_h, pad_w, mode, oy, ox
):
    """Write the ``out_height × out_width × channels`` crop at ``(oy, ox)`` of the padded
    image ``src`` (a flat row) into the flat row ``dest``."""
    for y in range(out_height):
        sy = source_index(oy + y, height, pad_h, mode)
        for x in range(out_width):
            sx = source_index(ox + x, width, pad_w, mode)
            d = (y * out_width + x) * channels
            if sy < 0 or sx < 0:
                for k in range(channels):
                    dest[d + k] = 0.0
            else:
                s = (sy * width + sx) * channels
                for k in range(channels):
                    dest[d + k] = src[s + k]
