import contextlib
import os

import numba
import pytest
from hypothesis import settings

# Hypothesis profiles: "full" (the default: what CI and the README's test command run)
# and "dev", a tenth of the examples for the inner loop:
#   HYPOTHESIS_PROFILE=dev python -m pytest -m "not slow"
settings.register_profile("full", deadline=None)
settings.register_profile("dev", deadline=None, max_examples=10)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "full")
settings.load_profile(PROFILE)


def examples(n):
    """``max_examples`` of a property test under the active profile."""
    return n if PROFILE == "full" else max(5, n // 10)


@contextlib.contextmanager
def numba_threads(n):
    """Run with ``n`` Numba threads, restoring the previous count afterwards."""
    previous = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@pytest.fixture
def threads():
    return numba_threads
