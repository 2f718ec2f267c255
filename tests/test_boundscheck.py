"""The kernel tests once more with Numba's bounds checking on (a separate process, an
empty kernel cache): any out-of-bounds read or write in compiled code fails here."""

import os
import sys
from pathlib import Path

import pytest

from .background import Command

TESTS = Path(__file__).resolve().parent
KERNEL_TESTS = [
    "test_kernels.py",
    "test_gradcheck.py",
    "test_engine.py",
    "test_augment.py",
    "test_prune.py",
    "test_random.py",
]


def bounds_checked_kernel_tests(folder):
    # A tenth of the property tests' examples and float64 only: every kernel path still
    # runs, bounds-checked (the index arithmetic is the same code for both dtypes; the
    # main run has the full profile and both dtypes). A debugging build, so LLVM's -O1
    # (every access keeps its check at any level): 69 s instead of 108 s here.
    env = dict(
        os.environ,
        NUMBA_BOUNDSCHECK="1",
        NUMBA_OPT="1",
        NUMBA_CACHE_DIR=str(folder / "cache"),
        HYPOTHESIS_PROFILE="dev",
    )
    argv = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
            "-k", "not float32", *(str(TESTS / name) for name in KERNEL_TESTS)]  # fmt: skip
    return Command(argv, env=env, cwd=TESTS.parent)


@pytest.mark.slow
@pytest.mark.background(check=bounds_checked_kernel_tests)
def test_kernels_stay_in_bounds(background):
    run = background.result(bounds_checked_kernel_tests).run
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
