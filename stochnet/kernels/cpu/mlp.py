"""Whole-network forward and backward passes of an MLP, interpreting a plan.

``plan`` (``engine.plan.MLPPlan``) and ``work`` (``engine.plan.Workspace``) are named
tuples of arrays and scalars. Layer ``h`` (0 = input, ``L`` = output) of a batch of
``rows`` rows occupies ``[work.offsets[h], work.offsets[h] + rows * sizes[h])`` of each
flat buffer: ``a`` (activations after dropout), ``z`` (pre-activations), ``d`` (deltas
∂loss/∂z) and ``mask`` (dropout factors).
"""

import numpy as np
from numba import njit

from ..._config import JIT
from ..codes import DROPOUT_LAYER_SHIFT, STREAMS
from .batch import load_targets
from .blas import affine_activate, matmul, matmul_delta
from .dense import column_sums, dense_forward
from .dropout import dropout_forward
from .inputs import input_forward, input_forward_activate, input_weight_gradient, load_batch
from .losses import output_activation, output_loss
from .specialise import read_only, runtime

_DROPOUT = np.uint64(STREAMS["dropout"])


@njit(**JIT)
def block(buf, offsets, layer, rows, width):
    """The ``rows × width`` block of layer ``layer`` in the flat buffer ``buf``."""
    start = offsets[layer]
    return buf[start : start + rows * width].reshape((rows, width))


@njit(**JIT)
def weights(theta, plan, layer):
    """Views ``(W, b)`` of layer ``layer`` in the flat parameter vector."""
    n_in = plan.sizes[layer]
    n_out = plan.sizes[layer + 1]
    w0 = plan.w_off[layer]
    b0 = plan.b_off[layer]
    return theta[w0 : w0 + n_in * n_out].reshape((n_in, n_out)), theta[b0 : b0 + n_out]


@njit(**JIT)
def forward(theta, plan, work, x0, rows, dropout, key, stream, step):
    """Hidden layers and output pre-activations for the input batch ``x0``.

    ``x0`` is the dense block in layer 0 of ``a`` or a CSR batch (``inputs``).
    With ``dropout`` true, each hidden layer with a rate draws its mask from Philox
    ``(key, stream)`` at ``step`` (counter offset ``h << DROPOUT_LAYER_SHIFT``): the
    ``"dropout"`` stream in training, ``"mc_dropout"`` for MC-dropout predictions.
    """
    sizes = plan.sizes
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        w, b = weights(theta, plan, layer)
        z = block(work.z, work.offsets, layer + 1, rows, n_out)
        if layer == n_layers - 1:  # the output layer: the loss activates it
            if layer == 0:
                input_forward(x0, w, b, z)
            else:
                dense_forward(block(work.a, work.offsets, layer, rows, n_in), w, b, z)
            break
        a = block(work.a, work.offsets, layer + 1, rows, n_out)
        code = plan.activation[layer]
        if layer == 0:
            input_forward_activate(x0, w, b, z, a, code, work.finisher)
        else:
            affine_activate(
                block(work.a, work.offsets, layer, rows, n_in), w, b, z, a, code, work.finisher
            )
        threshold = plan.drop_threshold[layer]
        if dropout and threshold > 0:
            start = work.offsets[layer + 1]
            dropout_forward(
                work.a[start : start + rows * n_out],
                work.mask[start : start + rows * n_out],
                threshold,
                plan.drop_scale[layer],
                key,
                stream,
                step,
                np.int64(layer + 1) << DROPOUT_LAYER_SHIFT,
            )


@njit(**JIT)
def backward(theta, grad, plan, work, x0, rows, dropout):
    """Gradient sums into ``grad`` from the output deltas already in layer ``L`` of ``d``.

    The input layer gets no input gradient (``x0`` as in :func:`forward`). A hidden
    layer's deltas and its bias gradient come from one fused product
    (:func:`.blas.matmul_delta`).
    """
    sizes = plan.sizes
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers - 1, -1, -1):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        gw, gb = weights(grad, plan, layer)
        dz = block(work.d, work.offsets, layer + 1, rows, n_out)
        if layer == n_layers - 1:
            column_sums(dz, gb)
        if layer == 0:
            input_weight_gradient(x0, dz, gw)
            break
        matmul(block(work.a, work.offsets, layer, rows, n_in).T, dz, gw)
        w, _ = weights(theta, plan, layer)
        with_mask = dropout and plan.drop_threshold[layer - 1] > 0
        matmul_delta(
            dz,
            w.T,
            block(work.d, work.offsets, layer, rows, n_in),
            block(work.z, work.offsets, layer, rows, n_in),
            block(work.mask, work.offsets, layer, rows if with_mask else 0, n_in),
            plan.activation[layer - 1],
            weights(grad, plan, layer - 1)[1],
            work.finisher,
        )


@njit(**JIT)
def input_block(work, rows):
    """Layer 0 of ``a`` as a ``rows × n_features`` block (the dense batch's home)."""
    return block(work.a, work.offsets, 0, rows, work.offsets[1] // work.rows)


@njit(**JIT)
def output_blocks(plan, work, rows):
    """The output layer's ``z``, ``a`` and ``d`` blocks (``rows × n_outputs`` each)."""
    n_layers = plan.sizes.shape[0] - 1
    n_out = plan.sizes[n_layers]
    return (
        block(work.z, work.offsets, n_layers, rows, n_out),
        block(work.a, work.offsets, n_layers, rows, n_out),
        block(work.d, work.offsets, n_layers, rows, n_out),
    )


@njit(**JIT)
def predict_rows(X, theta, plan, work, out, dropout, key, stream, step):
    """Predictions for every row of ``X`` into ``out``, in chunks of the workspace size.

    With ``dropout`` true (MC dropout) the masks come from ``(key, stream)`` at
    ``step``; chunk ``c`` uses ``step + c`` so that no two chunks share masks.
    """
    n = out.shape[0]
    chunk = work.rows
    n_layers = plan.sizes.shape[0] - 1
    n_out = plan.sizes[n_layers]
    empty = np.empty(0, dtype=np.int64)
    for c, start in enumerate(range(0, n, chunk)):
        rows = min(chunk, n - start)
        x0 = load_batch(
            X,
            empty,
            start,
            rows,
            input_block(work, rows),
            work.sparse,
            plan.crop,
            runtime(False),
            key,
            key,
        )
        forward(read_only(theta), plan, work, x0, rows, dropout, key, stream, step + np.uint64(c))
        z = block(work.z, work.offsets, n_layers, rows, n_out)
        output_activation(plan.loss, z, out[start : start + rows])


@njit(**JIT)
def loss_grad_sums(X, Y, sw, theta, grad, chunk_grad, plan, work, dropout, key, step):
    """Full-data loss sum and gradient sum, in chunks.

    With ``dropout`` true, chunk ``c`` uses the masks of ``step + c``: the loss is then
    a deterministic function of ``theta`` for fixed masks (what a gradient check needs).
    Returns ``(Σ_i w_i ℓ_i, Σ_i w_i)``; ``grad`` receives ``Σ_i w_i ∂ℓ_i/∂θ``.
    """
    n = Y.shape[0]
    chunk = work.rows
    empty = np.empty(0, dtype=np.int64)
    grad[:] = 0.0
    loss_sum = 0.0
    sw_sum = 0.0
    for c, start in enumerate(range(0, n, chunk)):
        rows = min(chunk, n - start)
        x0 = load_batch(
            X,
            empty,
            start,
            rows,
            input_block(work, rows),
            work.sparse,
            plan.crop,
            runtime(False),
            key,
            key,
        )
        y, w, chunk_sw = load_targets(Y, sw, empty, start, rows, work)
        sw_sum += chunk_sw
        forward(read_only(theta), plan, work, x0, rows, dropout, key, _DROPOUT, step + np.uint64(c))
        z, a, d = output_blocks(plan, work, rows)
        loss_sum += output_loss(plan.loss, z, a, y, w, d)
        backward(read_only(theta), chunk_grad, plan, work, x0, rows, dropout)
        grad += chunk_grad
    return loss_sum, sw_sum
