"""Synthetic data sets that isolate one property of a model."""

import numpy as np

from .random import derive_key, normal, uniform


def make_marked_tokens(
    n_samples, length=32, n_features=8, n_symbols=16, noise=0.1, random_state=None
):
    """Sequences in which a marker token appears once (label 1) or never (label 0).

    Every token is one of ``n_symbols`` fixed random unit vectors plus Gaussian noise;
    in a sequence of class 1 one token, at a uniformly random position, is the marker
    vector instead. The task is invariant to where the marker sits: a model that shares
    its token detector across positions (attention) learns it from few samples, a
    model of the flattened sequence (an MLP) must learn one detector per position.

    Parameters
    ----------
    n_samples : int
    length : int, default=32
    n_features : int, default=8
    n_symbols : int, default=16
        Symbols besides the marker.
    noise : float, default=0.1
        Standard deviation of the noise on every feature.
    random_state : int, numpy.uint64 or None, default=None
        Seeds the sequences; the symbol vectors are the same for every seed.

    Returns
    -------
    X : numpy.ndarray of shape (n_samples, length, n_features)
    y : numpy.ndarray of shape (n_samples,), int

    Examples
    --------
    >>> from stochnet.datasets import make_marked_tokens
    >>> X, y = make_marked_tokens(100, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((100, 32, 8), [0, 1])
    """
    key = derive_key(random_state)
    symbols_key = derive_key(12345)
    vectors = normal((n_symbols + 1, n_features), symbols_key)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    u = uniform((n_samples, length + 2), key)
    symbols = 1 + np.minimum((u[:, :length] * n_symbols).astype(np.int64), n_symbols - 1)
    y = (u[:, length] < 0.5).astype(np.int64)
    position = np.minimum((u[:, length + 1] * length).astype(np.int64), length - 1)
    marked = np.flatnonzero(y)
    symbols[marked, position[marked]] = 0
    X = vectors[symbols] + noise * normal((n_samples, length, n_features), key, step=1)
    return X, y
