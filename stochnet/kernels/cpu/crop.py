"""Random crops of images and sequences stored as flat rows, one offset per sample.

An image row holds ``height × width × channels`` values in C order (a sequence is an
image of height 1). The crop of sample ``s`` reads the padded image at offsets
``(oy, ox)`` drawn from the ``"crop"`` stream at ``step`` (the epoch): words ``2s`` and
``2s + 1``, mapped to ``[0, range]`` by ``(word · (range + 1)) >> 32``. The crop of a
sample therefore depends only on ``(seed, epoch, sample)``, not on the batch it is in.
"""

import numpy as np
from numba import njit

from ..._config import JIT
from ..crop_source import source_index
from ..philox_source import SHIFT32, block_bits


@njit(**JIT)
def crop_offsets(crop, key, stream, step, sample):
    """Random top-left corner ``(oy, ox)`` of sample ``sample``'s crop in the padded image."""
    range_h = crop.height + 2 * crop.pad_h - crop.out_height
    range_w = crop.width + 2 * crop.pad_w - crop.out_width
    words = block_bits(key, stream, step, np.uint64(sample >> 1))
    lane = 2 * (sample & 1)
    oy = (words[lane] * np.uint64(range_h + 1)) >> SHIFT32
    ox = (words[lane + 1] * np.uint64(range_w + 1)) >> SHIFT32
    return np.int64(oy), np.int64(ox)


@njit(**JIT)
def centre_offsets(crop):
    """The deterministic centre crop used at prediction time."""
    return (
        (crop.height + 2 * crop.pad_h - crop.out_height) // 2,
        (crop.width + 2 * crop.pad_w - crop.out_width) // 2,
    )


@njit(**JIT)
def crop_row(src, dest, crop, oy, ox):
    """Write the ``out_height × out_width × channels`` crop at ``(oy, ox)`` of the padded
    image ``src`` into ``dest``."""
    c = crop.channels
    for y in range(crop.out_height):
        sy = source_index(oy + y, crop.height, crop.pad_h, crop.mode)
        for x in range(crop.out_width):
            sx = source_index(ox + x, crop.width, crop.pad_w, crop.mode)
            d = (y * crop.out_width + x) * c
            if sy < 0 or sx < 0:
                for k in range(c):
                    dest[d + k] = 0.0
            else:
                s = (sy * crop.width + sx) * c
                for k in range(c):
                    dest[d + k] = src[s + k]


@njit(**JIT)
def crop_rows(X, out, crop, offsets):
    """Crop every row of ``X`` at the given ``(n, 2)`` offsets into ``out``."""
    for r in range(X.shape[0]):
        crop_row(X[r], out[r], crop, offsets[r, 0], offsets[r, 1])


@njit(**JIT)
def random_offsets(crop, key, stream, step, first_sample, out):
    """Offsets of samples ``first_sample, first_sample + 1, …`` into ``out`` (n × 2)."""
    for r in range(out.shape[0]):
        out[r, 0], out[r, 1] = crop_offsets(crop, key, stream, step, first_sample + r)
