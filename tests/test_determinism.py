"""One seed, one model: across repeated fits, thread counts and processes."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

import stochnet as sn

from .conftest import SEEDED_FITS, cold_compile, numba_threads


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


@pytest.mark.slow
@pytest.mark.background(check=cold_compile)
def test_compiled_and_cached_kernels_give_the_same_model(precompiled):
    """One process compiled every kernel into an empty cache and fitted, another reads
    them from it: the models must agree to the bit (with ``reassoc`` fast-math, an
    earlier optimiser kernel rounded differently in the two cases)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(precompiled / "cache"))
    subprocess.run(
        [sys.executable, "-c", SEEDED_FITS, str(precompiled / "cached")], env=env, check=True
    )
    for dtype in ("float64", "float32"):
        compiled = np.load(precompiled / f"compiled{dtype}.npy")
        cached = np.load(precompiled / f"cached{dtype}.npy")
        np.testing.assert_array_equal(compiled, cached)
