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


class TokenInput(NamedTuple):
    """Sequences as the encoder kernels take them: ``values`` is ``n × (T·d_in)``
    (C-contiguous, the parameter dtype), ``lengths`` int64 ``(n,)`` or empty (all
    sequences full)."""

    values: np.ndarray
    lengths: np.ndarray
