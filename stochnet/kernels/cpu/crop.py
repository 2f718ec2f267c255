"""Random crops of images and sequences stored as flat rows, one offset per sample.

An image row holds ``height × width × channels`` values in C order (a sequence is an
image of height 1). The crop of sample ``s`` reads the padded image at offsets
``(oy, ox)`` drawn from the ``"crop"`` stream at ``step`` (the epoch): words ``2s`` and
``2s + 1``, mapped to ``[0, range]`` by ``(word · (range + 1)) >> 32``. The crop of a
sample therefore depends only on ``(seed, epoch, sample)``, not on the batch it is in.
"""

from numba import njit

from ..._config import JIT
from ..shared.crop_source import copy_crop, sample_offsets


@njit(**JIT)
def crop_offsets(crop, key, stream, step, sample):
    """Random top-left corner ``(oy, ox)`` of sample ``sample``'s crop in the padded image."""
    return sample_offsets(
        key,
        stream,
        step,
        sample,
        crop.height + 2 * crop.pad_h - crop.out_height,
        crop.width + 2 * crop.pad_w - crop.out_width,
    )


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
    copy_crop(src, dest, crop.height, crop.width, crop.channels, crop.out_height,
              crop.out_width, crop.pad_h, crop.pad_w, crop.mode, oy, ox)  # fmt: skip


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
