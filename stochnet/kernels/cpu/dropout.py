"""Inverted dropout: train-time masks from Philox, survivors scaled by 1 / (1 - p)."""

import numpy as np
from numba import njit

from ..._config import JIT
from ..philox_source import block_bits


@njit(**JIT)
def dropout_forward(a, mask, threshold, scale, key, stream, step, offset):
    """Apply dropout in place to the flat ``a`` and record the factors in ``mask``.

    Element ``i`` is kept when the Philox word at counter index ``offset + i`` is at
    least ``threshold`` (``p * 2**32``); kept entries are multiplied by ``scale``.
    ``offset`` must be a multiple of 4 (blocks are never shared between calls).
    """
    n = a.shape[0]
    first = offset // 4
    for b in range((n + 3) // 4):
        words = block_bits(key, stream, step, np.uint64(first + b))
        for lane in range(4):
            i = 4 * b + lane
            if i < n:
                m = scale if words[lane] >= threshold else 0.0
                mask[i] = m
                a[i] *= m


@njit(**JIT)
def dropout_backward(delta, mask):
    """``delta *= mask``: the gradient flows through the kept units only."""
    for i in range(delta.shape[0]):
        delta[i] *= mask[i]
