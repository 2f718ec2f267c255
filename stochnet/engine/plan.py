"""Plans and workspaces: what compiled code interprets, as named tuples of arrays.

Parameter layout (scikit-learn's ``_pack`` order): all weight matrices, C order, layer by
layer, then all bias vectors. ``θ[:n_coef]`` are the weights (penalised), the rest the
biases.
"""

from typing import NamedTuple

import numpy as np

from ..kernels.codes import ACTIVATIONS, LOSSES, NO_CROP, CropPlan
from ..kernels.shared.records import CSRBuffers
from ..random import keep_threshold
from .arrays import read_only


class MLPPlan(NamedTuple):
    """Layer table of an MLP (see the module docstring for the parameter layout)."""

    sizes: np.ndarray  # int64 (L + 1,): units per layer, input first
    w_off: np.ndarray  # int64 (L,): start of W_l in θ
    b_off: np.ndarray  # int64 (L,): start of b_l in θ
    activation: np.ndarray  # int64 (L,): activation code of each layer's output
    drop_threshold: np.ndarray  # uint64 (L,): dropout threshold p·2³² (0 = none)
    drop_scale: np.ndarray  # float64 (L,): 1 / (1 - p)
    loss: int  # loss code; fixes the output activation
    n_coef: int  # number of weights (θ[:n_coef])
    n_params: int
    crop: CropPlan  # input crop (inactive: the input is used as is)


class Workspace(NamedTuple):
    """Preallocated buffers for batches of at most ``rows`` rows."""

    a: np.ndarray
    z: np.ndarray
    d: np.ndarray
    mask: np.ndarray
    y: np.ndarray  # (rows, n_targets)
    sw: np.ndarray  # (rows,)
    offsets: np.ndarray  # int64 (L + 2,): start of each layer's block
    rows: int
    sparse: CSRBuffers  # CSR rows of a sparse batch (empty for dense input)
    finisher: int  # address of the CPU tile epilogue for the dtype (kernels.cpu.epilogues)


def n_outputs_for(loss, n_targets):
    """Output units for ``n_targets`` targets (Gaussian NLL has a variance head each)."""
    return 2 * n_targets if loss == "gaussian_nll" else n_targets


def build_mlp_plan(layer_sizes, activation, loss, dropout=(), crop=NO_CROP):
    """Plan of an MLP.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first, output last.
    activation : str
        Hidden activation, a key of ``codes.ACTIVATIONS``.
    loss : str
        A key of ``codes.LOSSES``.
    dropout : sequence of float
        Dropout rate of each hidden layer (empty for none).
    crop : CropPlan
        Input crop; ``layer_sizes[0]`` must equal its output size when active.
    """
    sizes = np.asarray(layer_sizes, dtype=np.int64)
    n_layers = sizes.shape[0] - 1
    fan = sizes[:-1] * sizes[1:]
    w_off = np.concatenate(([0], np.cumsum(fan)[:-1])).astype(np.int64)
    n_coef = int(fan.sum())
    b_off = (n_coef + np.concatenate(([0], np.cumsum(sizes[1:])[:-1]))).astype(np.int64)
    rates = np.zeros(n_layers, dtype=np.float64)
    rates[: len(dropout)] = dropout
    return read_only(
        MLPPlan(
            sizes=sizes,
            w_off=w_off,
            b_off=b_off,
            activation=np.full(n_layers, ACTIVATIONS[activation], dtype=np.int64),
            drop_threshold=np.array([keep_threshold(p) for p in rates], dtype=np.uint64),
            drop_scale=1.0 / (1.0 - rates),
            loss=LOSSES[loss],
            n_coef=n_coef,
            n_params=n_coef + int(sizes[1:].sum()),
            crop=crop,
        )
    )


def allocate_workspace(plan, rows, n_targets, dtype, max_row_nnz=0):
    """Buffers for batches of up to ``rows`` rows of the plan's network.

    ``max_row_nnz`` sizes the CSR buffers for sparse input (0 for dense input).
    """
    from ..kernels.cpu.epilogues import finisher

    rows = max(int(rows), 1)
    offsets = np.concatenate(([0], np.cumsum(rows * plan.sizes))).astype(np.int64)
    total = int(offsets[-1])
    return Workspace(
        a=np.zeros(total, dtype=dtype),
        z=np.zeros(total, dtype=dtype),
        d=np.zeros(total, dtype=dtype),
        mask=np.zeros(total, dtype=dtype),
        y=np.zeros((rows, n_targets), dtype=dtype),
        sw=np.zeros(rows, dtype=dtype),
        offsets=offsets,
        rows=rows,
        sparse=CSRBuffers(
            data=np.zeros(rows * max_row_nnz, dtype=dtype),
            indices=np.zeros(rows * max_row_nnz, dtype=np.int32),
            indptr=np.zeros(rows + 1, dtype=np.int32),
        ),
        finisher=finisher(dtype),
    )
