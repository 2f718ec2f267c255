"""Output activation + loss + output delta on the GPU, one row per thread (see
``kernels.cpu.losses``: the row code is the CPU's ``row_prediction`` / ``row_loss``)."""

import numpy as np
from numba import cuda

from ..shared.math_source import row_loss, row_prediction
from .launch import cuda_kernel, launch


@cuda_kernel
def _output_activation(loss, z, a):
    for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
        row_prediction(loss, z, a, i)


@cuda_kernel
def _output_loss(loss, z, a, y, sw, delta, losses):
    weighted = sw.shape[0] > 0
    for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
        lse = row_prediction(loss, z, a, i)
        losses[i] = row_loss(loss, z, a, y, sw[i] if weighted else 1.0, delta, i, lse)


def output_activation(loss, z, a):
    """Predictions ``a`` (rows × outputs) from output pre-activations ``z``."""
    launch(_output_activation, z.shape[0], loss, z, a, writes=(2,))


def output_loss(loss, z, a, y, sw, delta, losses=None):
    """Fills predictions ``a`` and weighted deltas ``delta``; ``sw`` per-row weights or
    empty. Returns the loss sum as a float, or, given a float64 GPU array ``losses``
    (≥ rows), leaves the weighted per-row losses there and returns ``None`` (no
    synchronisation: what the training loop does)."""
    rows = z.shape[0]
    d_losses = cuda.device_array(max(rows, 1), dtype=np.float64) if losses is None else losses
    launch(_output_loss, rows, loss, z, a, y, sw, delta, d_losses, writes=(2, 5))
    if losses is None:
        return float(d_losses.copy_to_host()[:rows].sum())
    return None
