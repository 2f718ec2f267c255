"""Seeded data shared by the benchmarks, built once per process."""

import functools
import os
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

HIDDEN = (256, 256)

#: The test suite's smoke run (``STOCHNET_ASV_SMOKE``) checks that every benchmark runs,
#: not how fast: small sizes and one parameter combination each (asv runs each
#: combination in a process of its own).
SMOKE = bool(os.environ.get("STOCHNET_ASV_SMOKE"))


def sized(full, smoke):
    """``full``, or ``smoke`` in the test suite's smoke run."""
    return smoke if SMOKE else full


@functools.cache
def mnist_like(n=10_000, seed=0):
    """n × 784 float32 in [0, 1] with 10 learnable classes (a stand-in for MNIST).

    Built in blocks so that the only large allocation is X itself (peak-memory
    benchmarks measure the whole process)."""
    n = sized(n, min(n, 1000))
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 1, (10, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    X = np.empty((n, 784), np.float32)
    for start in range(0, n, 4096):
        block = X[start : start + 4096]
        rng.standard_normal(block.shape, dtype=np.float32, out=block)
        block *= 0.3
        block += centers[y[start : start + 4096]]
        np.clip(block, 0, 1, out=block)
    return X, y


@functools.cache
def digits_split():
    """Standardised digits, 75/25 stratified split."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def quiet_fit(estimator, X, y, **kwargs):
    """Fit without ConvergenceWarnings (benchmarks stop early on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **kwargs)


#: A first fit of each model family on digits, as a fresh process runs it (the model
#: families ``stochnet.precompile`` compiles ahead of time), and scikit-learn's.
FIRST_FIT_SETUP = (
    "import warnings; warnings.simplefilter('ignore')\n"
    "import numpy as np, scipy.sparse\n"
    "from sklearn.datasets import load_digits\n"
    "X, y = load_digits(return_X_y=True)\n"
    "X = X / 16\n"
)
FIRST_FITS = {
    "MLP float64": "sn.MLPClassifier(random_state=0).fit(X, y)",
    "MLP float32": "sn.MLPClassifier(random_state=0).fit(X.astype(np.float32), y)",
    "MLP sparse": "sn.MLPClassifier(random_state=0).fit(scipy.sparse.csr_matrix(X), y)",
    "attention tabular": "sn.AttentionClassifier(max_iter=3, random_state=0).fit(X[:300], y[:300])",
    "attention sequences": (
        "sn.AttentionClassifier(max_iter=3, random_state=0)"
        ".fit(X[:300].reshape(300, 8, 8), y[:300])"
    ),
}
SKLEARN_FIRST_FIT = (
    "from sklearn.neural_network import MLPClassifier\nMLPClassifier(random_state=0).fit(X, y)\n"
)


def first_fit_code(family):
    """The whole script of a fresh-process first fit (imports included)."""
    if family == "sklearn":
        return FIRST_FIT_SETUP + SKLEARN_FIRST_FIT
    return FIRST_FIT_SETUP + "import stochnet as sn\n" + FIRST_FITS[family] + "\n"
