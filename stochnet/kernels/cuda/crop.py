"""Random crops on the GPU (see ``kernels.cpu.crop``; same offsets, same pixels)."""

import numpy as np
from numba import cuda

from ..shared.crop_source import copy_crop, sample_offsets
from .launch import Transfer, cuda_kernel, grid


def _geometry(crop):
    """The crop plan's integers as kernel arguments (the kernels take no tuples)."""
    return tuple(np.int64(v) for v in (
        crop.height, crop.width, crop.channels, crop.out_height, crop.out_width, crop.pad_h,
        crop.pad_w, crop.mode,
    ))  # fmt: skip


def _ranges(crop):
    return (
        np.int64(crop.height + 2 * crop.pad_h - crop.out_height),
        np.int64(crop.width + 2 * crop.pad_w - crop.out_width),
    )


@cuda_kernel
def _random_offsets(range_h, range_w, key, stream, step, first_sample, out):
    for r in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[r, 0], out[r, 1] = sample_offsets(key, stream, step, first_sample + r, range_h, range_w)


def random_offsets(crop, key, stream, step, first_sample, out):
    """Offsets of samples ``first_sample, first_sample + 1, …`` into ``out`` (n × 2)."""
    if out.shape[0] == 0:
        return
    transfer = Transfer()
    d_out = transfer.device(out)
    blocks, threads = grid(out.shape[0])
    _random_offsets[blocks, threads](
        *_ranges(crop),
        np.uint64(key),
        np.uint64(stream),
        np.uint64(step),
        np.int64(first_sample),
        d_out,
    )
    transfer.copy_back()


@cuda_kernel
def _crop_rows(X, out, height, width, channels, out_height, out_width, pad_h, pad_w, mode, offsets):
    for r in range(cuda.grid(1), X.shape[0], cuda.gridsize(1)):
        copy_crop(X[r], out[r], height, width, channels, out_height, out_width, pad_h, pad_w,
                  mode, offsets[r, 0], offsets[r, 1])  # fmt: skip


def crop_rows(X, out, crop, offsets):
    """Crop every row of ``X`` at the given ``(n, 2)`` offsets into ``out``."""
    if X.shape[0] == 0:
        return
    transfer = Transfer()
    d_out = transfer.device(out)
    blocks, threads = grid(X.shape[0])
    _crop_rows[blocks, threads](
        transfer.device(X, write=False),
        d_out,
        *_geometry(crop),
        transfer.device(offsets, write=False),
    )
    transfer.copy_back()


@cuda_kernel
def _gather_crops(X, order, start, rows, dest, height, width, channels, out_height, out_width,
                  pad_h, pad_w, mode, randomize, key, stream, step):  # fmt: skip
    range_h = height + 2 * pad_h - out_height
    range_w = width + 2 * pad_w - out_width
    use_order = order.shape[0] > 0
    for r in range(cuda.grid(1), rows, cuda.gridsize(1)):
        src = order[start + r] if use_order else start + r
        if randomize:
            oy, ox = sample_offsets(key, stream, step, src, range_h, range_w)
        else:
            oy, ox = range_h // 2, range_w // 2
        copy_crop(X[src], dest[r], height, width, channels, out_height, out_width, pad_h,
                  pad_w, mode, oy, ox)  # fmt: skip


def gather_crops(X, order, start, rows, dest, crop, randomize, key, stream, step):
    """Crops of rows ``order[start : start + rows]`` of ``X`` (or ``start …`` when
    ``order`` is empty) into ``dest``: the CPU's ``load_batch`` with an active crop
    (random offsets of each *source* sample, or the centre)."""
    if rows == 0:
        return
    transfer = Transfer()
    d_dest = transfer.device(dest)
    blocks, threads = grid(rows)
    _gather_crops[blocks, threads](
        transfer.device(X, write=False), transfer.device(order, write=False), np.int64(start),
        np.int64(rows), d_dest, *_geometry(crop), bool(randomize), np.uint64(key),
        np.uint64(stream), np.uint64(step),
    )  # fmt: skip
    transfer.copy_back()
