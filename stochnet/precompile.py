"""Compile the CPU kernels ahead of time, into Numba's on-disk cache.

A kernel compiles on its first call with new argument types (10-60 s per model family
and dtype on a laptop CPU) and loads from Numba's cache afterwards. :func:`precompile`
pays that cost up front by fitting and predicting tiny models of each family, so that
the first real fit starts at once: in a container image, on a CI runner, or right
after installing. ``pip install .`` from a source tree runs it for the default
families; ``python -m stochnet compile [--all]`` runs it by hand.

The cache belongs to the CPU kind and the Numba version that compiled it: compiled
elsewhere, it is not used and kernels compile on first use as usual (announced by a
:class:`~stochnet.CompileWarning`).
"""

import sys
import time
import warnings

import numpy as np

from ._runtime.compiling import CompileWarning, compile_seconds

__all__ = ["FAMILIES", "MORE_FAMILIES", "CompileWarning", "compile_seconds", "precompile"]


def _data(n_rows=24, n_features=6, dtype=np.float64):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, n_features)).astype(dtype)
    y = np.arange(n_rows) % 3
    return X, y


def _mlp(dtype, sparse=False):
    import scipy.sparse

    from .engine.checks import has_nonfinite
    from .estimators.mlp import MLPClassifier, MLPRegressor

    X, y = _data(dtype=dtype)
    if sparse:
        X = scipy.sparse.csr_matrix(np.where(np.abs(X) > 0.5, X, 0))
    else:
        has_nonfinite(X)  # the NaN check of a large X (tiny data skips it)
    for solver in ("adam", "sgd"):
        model = MLPClassifier((8,), solver=solver, max_iter=2, dropout=0.1, random_state=0)
        model.fit(X, y).predict_proba(X)
    MLPClassifier(
        (8,),
        max_iter=2,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=1,
        random_state=0,
    ).fit(X, y)
    MLPClassifier((8,), solver="lbfgs", max_iter=2, random_state=0).fit(X, y).predict(X)
    regressor = MLPRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    regressor.fit(X, y.astype(dtype)).predict(X)


def _attention(dtype, sequences=False):
    from .estimators.attention import AttentionClassifier, AttentionRegressor

    X, y = _data(dtype=dtype)
    options = {
        "d_model": 8,
        "n_heads": 2,
        "n_layers": 1,
        "d_ff": 8,
        "max_iter": 2,
        "random_state": 0,
    }
    if sequences:
        X = X.reshape(len(X), 3, 2)
        X[::2, -1] = np.nan  # padded sequences
        options["padding_value"] = float("nan")
    model = AttentionClassifier(dropout=0.1, **options).fit(X, y)
    model.predict_proba(X)
    AttentionRegressor(**options).fit(X, y.astype(dtype)).predict(X)


#: What ``precompile()`` covers: the model families a first fit most often uses.
FAMILIES = {
    "MLP, float64": lambda: _mlp(np.float64),
    "MLP, float32": lambda: _mlp(np.float32),
    "MLP, sparse input": lambda: _mlp(np.float64, sparse=True),
    "attention, tabular": lambda: _attention(np.float64),
    "attention, sequences": lambda: _attention(np.float64, sequences=True),
}
#: Added by ``precompile(all=True)``.
MORE_FAMILIES = {
    "MLP, sparse float32 input": lambda: _mlp(np.float32, sparse=True),
    "attention, tabular float32": lambda: _attention(np.float32),
    "attention, sequences float32": lambda: _attention(np.float32, sequences=True),
}


def precompile(all=False, file=sys.stderr):
    """Compile the kernels of each model family into Numba's cache.

    Parameters
    ----------
    all : bool, default=False
        Also the rarer families (float32 attention, float32 sparse input).
    file : text stream or None, default=sys.stderr
        Where to print one progress line per family; None prints nothing.

    Returns
    -------
    dict
        Seconds per family (near 0 for a family already cached).
    """
    families = {**FAMILIES, **(MORE_FAMILIES if all else {})}
    seconds = {}
    for i, (name, run) in enumerate(families.items(), 1):
        if file is not None:
            print(f"[{i}/{len(families)}] {name} ...", end="", file=file, flush=True)
        tic = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tiny fits: convergence and compile notices
            run()
        seconds[name] = time.perf_counter() - tic
        if file is not None:
            print(f" {seconds[name]:.1f} s", file=file, flush=True)
    return seconds
