"""The network's input layer on the GPU (see ``kernels.cpu.inputs``): dense batches
only; sparse input trains on the CPU (densifying it on the GPU would hide its cost)."""

import numpy as np

from ..codes import STREAMS
from .batch import load_rows
from .crop import gather_crops
from .dense import dense_backward, dense_forward
from .noise import add_gaussian_noise

_CROP = np.uint64(STREAMS["crop"])


def _check_dense(X):
    if not hasattr(X, "shape") or len(X.shape) != 2:
        raise TypeError(
            "device='cuda' takes dense 2-D input; sparse matrices train on the CPU "
            f"(device='cpu'), got {type(X).__name__}."
        )


def load_batch(X, order, start, rows, dense_dest, sparse_buf, crop, randomize, key, step):
    """The batch's rows gathered (or cropped: random offsets from the ``"crop"`` stream at
    ``step`` when ``randomize``, else the centre) into ``dense_dest``, which is returned.
    ``sparse_buf`` is unused (no sparse input on the GPU)."""
    _check_dense(X)
    if crop.active:
        gather_crops(X, order, start, rows, dense_dest, crop, randomize, key, _CROP, step)
    else:
        load_rows(X, order, start, rows, dense_dest)
    return dense_dest


def input_forward(x, w, b, z):
    """First-layer pre-activations of a dense batch."""
    dense_forward(x, w, b, z)


def input_backward(x, dz, gw, gb):
    """First-layer gradient sums (no input gradient)."""
    dense_backward(x, x[:0, :0], dz, gw, gb, x[:0])


def add_input_noise(x, std, key, stream, step):
    """Gaussian input noise on a dense batch, the CPU's draws."""
    add_gaussian_noise(x.reshape(x.shape[0] * x.shape[1]), std, key, stream, step, 0)
