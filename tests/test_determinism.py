"""One seed, one model: across repeated fits, thread counts and processes."""

import os
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

import stochnet as sn

from .background import Command
from .conftest import numba_threads

#: Two seeded digits fits (float64, float32) whose parameters go to ``argv[1] + dtype``.
SEEDED_FITS = textwrap.dedent(
    """
    import sys, warnings
    import numpy as np
    from sklearn.datasets import load_digits
    import stochnet as sn
    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    for dtype in (np.float64, np.float32):
        clf = sn.MLPClassifier((32,), dropout=0.1, max_iter=3, random_state=5)
        np.save(sys.argv[1] + str(np.dtype(dtype)), clf.fit((X / 16).astype(dtype), y).parameters_)
    """
)


def _fit(**params):
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = sn.MLPClassifier((32,), max_iter=3, random_state=5, **params)
        return clf.fit(X / 16, y).parameters_.copy()


def test_repeated_fits_are_bit_identical():
    np.testing.assert_array_equal(_fit(dropout=0.2), _fit(dropout=0.2))


def test_one_and_two_threads_are_bit_identical():
    with numba_threads(1):
        one = _fit(dropout=0.2, input_noise=0.1)
    with numba_threads(2):
        two = _fit(dropout=0.2, input_noise=0.1)
    np.testing.assert_array_equal(one, two)


def compiled_then_cached(folder):
    """:data:`SEEDED_FITS` twice on the empty cache ``folder / "cache"``: first on kernels
    it compiles (parameters saved as ``compiled<dtype>.npy``), then, in a second process,
    on the same kernels read back from the cache (``cached<dtype>.npy``)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(folder / "cache"))
    return [
        Command([sys.executable, "-c", SEEDED_FITS, str(folder / run)], env=env)
        for run in ("compiled", "cached")
    ]


@pytest.mark.slow
@pytest.mark.background(check=compiled_then_cached)
def test_compiled_and_cached_kernels_give_the_same_model(background):
    """One process compiles the kernels into an empty cache and fits, another reads
    them from it and fits: the models must agree to the bit (with ``reassoc``
    fast-math, an earlier optimiser kernel rounded differently in the two cases)."""
    finished = background.result(compiled_then_cached)
    assert [run.returncode for run in finished.runs] == [0, 0], finished.run.stderr[-3000:]
    for dtype in ("float64", "float32"):
        compiled = np.load(finished.folder / f"compiled{dtype}.npy")
        cached = np.load(finished.folder / f"cached{dtype}.npy")
        np.testing.assert_array_equal(compiled, cached)
