"""Whole-network forward and backward passes of an MLP on the GPU (see
``kernels.cpu.mlp``: the same plan, the same layer loop, the same dropout counters).

The host walks the layer table and launches one kernel (or cuBLAS call) per step; the
arrays stay on the GPU. ``work`` is a :func:`device_workspace`.
"""

import numpy as np
from numba import cuda

from ..codes import DROPOUT_LAYER_SHIFT, STREAMS
from . import batch
from .activations import activate, activation_backward
from .batch import LOSS, N_STATS, WEIGHT, load_targets
from .dense import dense_backward, dense_forward
from .dropout import dropout_backward, dropout_forward
from .elementwise import add_into, fill
from .inputs import input_backward, input_forward, load_batch
from .launch import Transfer
from .losses import output_activation, output_loss
from .reduce import SUM, sums_into

_DROPOUT = np.uint64(STREAMS["dropout"])


def device_workspace(work):
    """The host ``engine.plan.Workspace`` ``work`` on the GPU (layer offsets stay on the
    host: the layer loop slices with them)."""
    return batch.device_workspace(work, host_fields=("offsets",))


def block(buf, offsets, layer, rows, width):
    """The ``rows × width`` block of layer ``layer`` in the flat buffer ``buf``."""
    start = int(offsets[layer])
    return buf[start : start + rows * width].reshape((rows, width))


def weights(theta, plan, layer):
    """Views ``(W, b)`` of layer ``layer`` in the flat parameter vector."""
    n_in, n_out = int(plan.sizes[layer]), int(plan.sizes[layer + 1])
    w0, b0 = int(plan.w_off[layer]), int(plan.b_off[layer])
    return theta[w0 : w0 + n_in * n_out].reshape((n_in, n_out)), theta[b0 : b0 + n_out]


def _flat(buf, offsets, layer, rows, width):
    start = int(offsets[layer])
    return buf[start : start + rows * width]


def forward(theta, plan, work, x0, rows, dropout, key, stream, step):
    """Hidden layers and output pre-activations for the input batch ``x0`` (the block in
    layer 0 of ``a``); dropout masks from Philox ``(key, stream)`` at ``step``."""
    sizes = plan.sizes
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers):
        n_in, n_out = int(sizes[layer]), int(sizes[layer + 1])
        w, b = weights(theta, plan, layer)
        z = block(work.z, work.offsets, layer + 1, rows, n_out)
        if layer == 0:
            input_forward(x0, w, b, z)
        else:
            dense_forward(block(work.a, work.offsets, layer, rows, n_in), w, b, z)
        if layer < n_layers - 1:
            af = _flat(work.a, work.offsets, layer + 1, rows, n_out)
            activate(
                int(plan.activation[layer]), _flat(work.z, work.offsets, layer + 1, rows, n_out), af
            )
            threshold = plan.drop_threshold[layer]
            if dropout and threshold > 0:
                dropout_forward(af, _flat(work.mask, work.offsets, layer + 1, rows, n_out),
                                threshold, plan.drop_scale[layer], key, stream, step,
                                (layer + 1) << DROPOUT_LAYER_SHIFT)  # fmt: skip


def backward(theta, grad, plan, work, x0, rows, dropout):
    """Gradient sums into ``grad`` from the output deltas already in layer ``L`` of ``d``."""
    sizes = plan.sizes
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers - 1, -1, -1):
        n_in, n_out = int(sizes[layer]), int(sizes[layer + 1])
        gw, gb = weights(grad, plan, layer)
        dz = block(work.d, work.offsets, layer + 1, rows, n_out)
        if layer == 0:
            input_backward(x0, dz, gw, gb)
            continue
        w, _ = weights(theta, plan, layer)
        x = block(work.a, work.offsets, layer, rows, n_in)
        dense_backward(x, w, dz, gw, gb, block(work.d, work.offsets, layer, rows, n_in))
        dxf = _flat(work.d, work.offsets, layer, rows, n_in)
        if dropout and plan.drop_threshold[layer - 1] > 0:
            dropout_backward(dxf, _flat(work.mask, work.offsets, layer, rows, n_in))
        activation_backward(
            int(plan.activation[layer - 1]), _flat(work.z, work.offsets, layer, rows, n_in), dxf
        )


def input_block(work, rows):
    """Layer 0 of ``a`` as a ``rows × n_features`` block (the dense batch's home)."""
    return block(work.a, work.offsets, 0, rows, int(work.offsets[1]) // work.rows)


def output_blocks(plan, work, rows):
    """The output layer's ``z``, ``a`` and ``d`` blocks (``rows × n_outputs`` each)."""
    n_layers = plan.sizes.shape[0] - 1
    n_out = int(plan.sizes[n_layers])
    return tuple(block(b, work.offsets, n_layers, rows, n_out) for b in (work.z, work.a, work.d))


def predict_rows(X, theta, plan, work, out, dropout, key, stream, step):
    """Predictions for every row of ``X`` into ``out``, in chunks of the workspace size;
    chunk ``c`` draws its MC-dropout masks from ``(key, stream)`` at ``step + c`` (as on
    the CPU)."""
    transfer = Transfer()
    d_X, d_theta = transfer.device(X, write=False), transfer.device(theta, write=False)
    d_out = transfer.device(out)
    no_order = cuda.device_array(0, dtype=np.int64)
    n = out.shape[0]
    for c, start in enumerate(range(0, n, work.rows)):
        rows = min(work.rows, n - start)
        x0 = load_batch(
            d_X, no_order, start, rows, input_block(work, rows), None, plan.crop, False, key, key
        )
        forward(d_theta, plan, work, x0, rows, dropout, key, stream, np.uint64(step) + np.uint64(c))
        z, _, _ = output_blocks(plan, work, rows)
        output_activation(plan.loss, z, d_out[start : start + rows])
    transfer.copy_back()


def loss_grad_sums(X, Y, sw, theta, grad, chunk_grad, plan, work, dropout, key, step):
    """Full-data ``(Σ w_i ℓ_i, Σ w_i)`` and the gradient sum into ``grad``, in chunks
    (chunk ``c`` with the dropout masks of ``step + c``), as on the CPU."""
    transfer = Transfer()
    d_X, d_Y, d_sw, d_theta = (transfer.device(a, write=False) for a in (X, Y, sw, theta))
    d_grad, d_chunk = transfer.device(grad), transfer.device(chunk_grad)
    no_order = cuda.device_array(0, dtype=np.int64)
    n = Y.shape[0]
    n_chunks = -(-n // work.rows)
    stats = cuda.to_device(np.zeros(max(n_chunks, 1) * N_STATS))
    fill(d_grad, 0.0)
    for c, start in enumerate(range(0, n, work.rows)):
        rows = min(work.rows, n - start)
        slot = c * N_STATS
        x0 = load_batch(
            d_X, no_order, start, rows, input_block(work, rows), None, plan.crop, False, key, key
        )
        y, w = load_targets(d_Y, d_sw, no_order, start, rows, work, stats, slot)
        forward(
            d_theta, plan, work, x0, rows, dropout, key, _DROPOUT, np.uint64(step) + np.uint64(c)
        )
        z, a, d = output_blocks(plan, work, rows)
        output_loss(plan.loss, z, a, y, w, d, work.losses)
        sums_into(work.losses, rows, SUM, 1, stats, slot + LOSS, work.partial)
        backward(d_theta, d_chunk, plan, work, x0, rows, dropout)
        add_into(d_grad, d_chunk)
    transfer.copy_back()
    totals = stats.copy_to_host().reshape(-1, N_STATS)
    return float(totals[:, LOSS].sum()), float(totals[:, WEIGHT].sum())
