"""Gathering a mini-batch's rows, targets and sample weights on the GPU (see
``kernels.cpu.batch``)."""

import functools
from typing import NamedTuple

import numpy as np
from numba import cuda

from .arrays import device_array, to_device
from .launch import Transfer, cuda_kernel, grid
from .reduce import SUM, partials, sums_into

#: Per-batch statistics a training loop keeps on the GPU (float64, one row per batch).
LOSS, WEIGHT, SQUARES, ABSOLUTE, INV_WEIGHT = range(5)
N_STATS = 5


@cuda_kernel
def _gather_rows(X, order, start, rows, dest):
    n_cols = X.shape[1]
    use_order = order.shape[0] > 0
    for e in range(cuda.grid(1), rows * n_cols, cuda.gridsize(1)):
        r = e // n_cols
        j = e - r * n_cols
        src = order[start + r] if use_order else start + r
        dest[r, j] = X[src, j]


@cuda_kernel
def _finish_weights(stats, slot, rows, weighted):
    if cuda.grid(1) == 0:
        if not weighted:
            stats[slot + WEIGHT] = rows
        stats[slot + INV_WEIGHT] = 1.0 / stats[slot + WEIGHT]


def load_rows(X, order, start, rows, dest):
    """Copy rows ``order[start : start + rows]`` of ``X`` into ``dest`` (``order`` may be
    empty for the identity)."""
    if rows == 0:
        return
    transfer = Transfer()
    d_dest = transfer.device(dest)
    blocks, threads = grid(rows * X.shape[1])
    _gather_rows[blocks, threads](
        transfer.device(X, write=False),
        transfer.device(order, write=False),
        np.int64(start),
        np.int64(rows),
        d_dest,
    )
    transfer.copy_back()


def _column(v):
    return v.reshape((v.shape[0], 1))


def load_weights(sw, order, start, rows, dest):
    """Copy the weights of the batch into ``dest``; returns their sum."""
    transfer = Transfer()
    d_dest = transfer.device(dest)
    load_rows(_column(transfer.device(sw, write=False)), order, start, rows, _column(d_dest))
    out = cuda.device_array(1, dtype=np.float64)
    sums_into(d_dest, rows, SUM, 1, out, 0)
    transfer.copy_back()
    return float(out.copy_to_host()[0])


def load_targets(Y, sw, order, start, rows, work, stats, slot):
    """Targets and weights of the batch into ``work.y`` and ``work.sw`` (GPU arrays);
    ``Σw`` and ``1 / Σw`` go to ``stats[slot + WEIGHT]`` and ``stats[slot + INV_WEIGHT]``
    on the GPU. Returns ``(y, w)``; ``w`` is empty for unit weights (``sw`` empty)."""
    y = work.y[:rows]
    load_rows(Y, order, start, rows, y)
    weighted = sw.shape[0] > 0
    w = work.sw[: rows if weighted else 0]
    if weighted:
        load_rows(_column(sw), order, start, rows, _column(w))
        sums_into(w, rows, SUM, 1, stats, slot + WEIGHT, work.partial)
    _finish_weights[1, 1](stats, np.int64(slot), np.float64(rows), weighted)
    return y, w


@functools.cache
def _device_type(host_type):
    fields = [(name, object) for name in (*host_type._fields, "losses", "partial")]
    return NamedTuple(f"Device{host_type.__name__}", fields)


def device_workspace(work, host_fields=()):
    """A GPU copy of the host workspace named tuple ``work``: every array zeroed on the
    GPU except ``host_fields`` (kept: the host slices with them), other values kept,
    plus ``losses`` (float64 per row) and ``partial`` (reduction scratch)."""
    values = [
        to_device(np.zeros_like(v)) if isinstance(v, np.ndarray) and name not in host_fields else v
        for name, v in zip(work._fields, work, strict=True)
    ]
    return _device_type(type(work))(*values, device_array(work.rows, dtype=np.float64), partials())
