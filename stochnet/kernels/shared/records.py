"""Plain records both backends take as arguments (Numba sees them as named tuples)."""

from typing import NamedTuple

import numpy as np


class CSRMatrix(NamedTuple):
    """A CSR matrix as compiled code sees it (``scipy.sparse.csr_matrix`` fields)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_cols: int


class StreamKeys(NamedTuple):
    """The Philox keys of the sources a chunk of training batches draws from (each
    source seedable alone: ``stochnet.random.source_keys``)."""

    dropout: np.uint64
    noise: np.uint64
    crop: np.uint64


class EpochData(NamedTuple):
    """An epoch's data as the epoch kernels take it (see ``kernels.cpu.epoch``)."""

    X: object  # n × features array, a CSRMatrix, or a TokenInput
    Y: np.ndarray  # n × targets
    sw: np.ndarray  # sample weights, or empty
    order: np.ndarray  # int64: this epoch's permutation of range(n), or empty


class TrainingState(NamedTuple):
    """What a chunk of batches updates in place, and the pruning mask it keeps."""

    theta: np.ndarray
    grad: np.ndarray  # gradient buffer
    state1: np.ndarray  # SGD's velocity, Adam's first moment
    state2: np.ndarray  # Adam's second moment (empty for SGD)
    mask: np.ndarray  # over θ[:len(mask)], or empty


class Chunk(NamedTuple):
    """Which batches of an epoch a call runs, and where the counters stand."""

    batch_size: int
    first: int
    count: int
    t0: int  # optimiser steps before the call
    step0: int  # random-counter steps before the call
    epoch: int  # the step of the random crops


class Epochs(NamedTuple):
    """How a CPU call that runs whole epochs goes from one epoch to the next: the
    next shuffle, and scikit-learn's stopping rule on the training loss (see
    ``kernels.cpu.epoch.train_batches``). ``losses`` empty: the call stays inside one
    epoch (the chunk's batches)."""

    losses: np.ndarray  # float64: each epoch's loss, written; its length caps the epochs
    rows: np.ndarray  # int64: the rows an epoch runs over before shuffling, or empty: all
    shuffle: bool
    shuffle_key: np.uint64
    loss_scale: float  # on the data term of the loss, as ``Trainer.loss_scale``
    tol: float
    n_iter_no_change: float  # may be inf
    best_loss: float  # the best epoch loss so far
    no_improvement: int  # epochs in a row so far whose loss did not beat best_loss - tol


class TokenInput(NamedTuple):
    """Sequences as the encoder kernels take them: ``values`` is ``n × (T·d_in)``
    (C-contiguous, the parameter dtype), ``lengths`` int64 ``(n,)`` or empty (all
    sequences full)."""

    values: np.ndarray
    lengths: np.ndarray


class CSRBuffers(NamedTuple):
    """Room for the CSR rows of one batch (``max_row_nnz × rows`` entries)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
