"""The kernel tests once more with Numba's bounds checking on (a separate process, an
empty kernel cache): any out-of-bounds read or write in compiled code fails here."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
KERNEL_TESTS = [
    "test_kernels.py",
    "test_gradcheck.py",
    "test_engine.py",
    "test_augment.py",
    "test_prune.py",
    "test_random.py",
]


@pytest.mark.slow
def test_kernels_stay_in_bounds(tmp_path):
    # A tenth of the property tests' examples: every kernel path still runs, bounds-checked
    # (the main run has the full profile).
    env = dict(
        os.environ,
        NUMBA_BOUNDSCHECK="1",
        NUMBA_CACHE_DIR=str(tmp_path / "cache"),
        HYPOTHESIS_PROFILE="dev",
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         *(str(TESTS / name) for name in KERNEL_TESTS)],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
