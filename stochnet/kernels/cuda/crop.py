"""Random crop offsets on the GPU (see ``kernels.cpu.crop``; same offsets)."""

import numpy as np
from numba import cuda

from ..crop_source import source_index
from ..philox_source import SHIFT32, block_bits
from .launch import Transfer, grid


@cuda.jit
def _random_offsets(range_h, range_w, key, stream, step, first_sample, out):
    for r in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        sample = first_sample + r
        words = block_bits(key, stream, step, np.uint64(sample >> 1))
        lane = 2 * (sample & 1)
        out[r, 0] = (words[lane] * np.uint64(range_h + 1)) >> SHIFT32
        out[r, 1] = (words[lane + 1] * np.uint64(range_w + 1)) >> SHIFT32


def random_offsets(crop, key, stream, step, first_sample, out):
    """Offsets of samples ``first_sample, first_sample + 1, …`` into ``out`` (n × 2)."""
    if out.shape[0] == 0:
        return
    transfer = Transfer()
    d_out = transfer.device(out)
    range_h = crop.height + 2 * crop.pad_h - crop.out_height
    range_w = crop.width + 2 * crop.pad_w - crop.out_width
    blocks, threads = grid(out.shape[0])
    _random_offsets[blocks, threads](np.int64(range_h), np.int64(range_w), np.uint64(key),
                                     np.uint64(stream), np.uint64(step),
                                     np.int64(first_sample), d_out)  # fmt: skip
    transfer.copy_back()


@cuda.jit
def _crop_rows(X, out, height, width, channels, out_height, out_width, pad_h, pad_w, mode,
               offsets):  # fmt: skip
    for r in range(cuda.grid(1), X.shape[0], cuda.gridsize(1)):
        oy, ox = offsets[r, 0], offsets[r, 1]
        for y in range(out_height):
            sy = source_index(oy + y, height, pad_h, mode)
            for x in range(out_width):
                sx = source_index(ox + x, width, pad_w, mode)
                d = (y * out_width + x) * channels
                for k in range(channels):
                    if sy < 0 or sx < 0:
                        out[r, d + k] = 0.0
                    else:
                        out[r, d + k] = X[r, (sy * width + sx) * channels + k]


def crop_rows(X, out, crop, offsets):
    """Crop every row of ``X`` at the given ``(n, 2)`` offsets into ``out``."""
    if X.shape[0] == 0:
        return
    transfer = Transfer()
    d_out = transfer.device(out)
    blocks, threads = grid(X.shape[0])
    _crop_rows[blocks, threads](
        transfer.device(X, write=False), d_out, crop.height, crop.width, crop.channels,
        crop.out_height, crop.out_width, crop.pad_h, crop.pad_w, crop.mode,
        transfer.device(offsets, write=False),
    )  # fmt: skip
    transfer.copy_back()
