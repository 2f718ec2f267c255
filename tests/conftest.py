import contextlib
import hashlib
import os
import threading
import time

import numba
import numpy as np
import pytest
import threadpoolctl
from hypothesis import settings

from .background import BackgroundChecks

# Hypothesis profiles: "full" (the default: what CI and the README's test command run)
# and "dev", a tenth of the examples for the inner loop:
#   HYPOTHESIS_PROFILE=dev python -m pytest -m "not slow"
settings.register_profile("full", deadline=None)
settings.register_profile("dev", deadline=None, max_examples=10)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "full")
settings.load_profile(PROFILE)


def toy_problem(n_samples):
    """``X`` (n × 6 normal), three classes and a linear target: the small problem the
    save/resume tests train on."""
    X = np.random.default_rng(0).normal(size=(n_samples, 6))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1), X[:, 0] - 2 * X[:, 3]


def examples(n):
    """``max_examples`` of a property test under the active profile."""
    return n if PROFILE == "full" else max(5, n // 10)


@contextlib.contextmanager
def dask_backend():
    """joblib's Dask backend on a two-worker local cluster (one thread per worker),
    closed afterwards; skips the test without ``distributed``."""
    import warnings

    import joblib

    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
        try:
            with joblib.parallel_backend("dask"):
                yield
        finally:
            client.close()
            cluster.close()


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


def seed_of_test(request):
    """A seed of the test's own (from its id): what it draws does not depend on which
    tests ran before it, or in which order."""
    return int.from_bytes(hashlib.sha256(request.node.nodeid.encode()).digest()[:8], "little")


@pytest.fixture
def rng(request):
    """A generator seeded by the test's id (see :func:`seed_of_test`)."""
    return np.random.default_rng(seed_of_test(request))


@pytest.fixture(autouse=True)
def module_generators_seeded_per_test(request, monkeypatch):
    """A test module's generator for its helpers (``RNG``) starts afresh at each test,
    seeded by the test's id: the module's tests draw the same inputs in any order."""
    module = getattr(request, "module", None)
    for name in ("RNG", "rng"):
        if isinstance(getattr(module, name, None), np.random.Generator):
            monkeypatch.setattr(module, name, np.random.default_rng(seed_of_test(request)))


#: Environment for processes that fork from one that has imported stochnet: GNU OpenMP
#: cannot run in a fork of a process that started it (importing the engine does);
#: Numba's own workqueue threads can.
FORK_SAFE_THREADS = {"NUMBA_THREADING_LAYER": "workqueue"}


# ------------------------------------------------------------ background checks
_CHECKS = pytest.StashKey[BackgroundChecks]()
_SESSION_START = pytest.StashKey[float]()
_FIRST_READER = pytest.StashKey[float]()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "background(check=f): reads a check that runs beside the tests (background.py)"
    )
    config.stash[_CHECKS] = BackgroundChecks()


def pytest_collection_modifyitems(items):
    # Tests that read a background check go last, so the check has the session to run.
    items.sort(key=lambda item: item.get_closest_marker("background") is not None)


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    marks = (item.get_closest_marker("background") for item in session.items)
    session.config.stash[_CHECKS].start(mark.kwargs["check"] for mark in marks if mark is not None)


def pytest_sessionstart(session):
    session.config.stash[_SESSION_START] = time.monotonic()


def pytest_runtest_setup(item):
    if item.get_closest_marker("background") is not None:
        item.config.stash.setdefault(_FIRST_READER, time.monotonic())


def pytest_terminal_summary(terminalreporter, config):
    """When each background check ran, beside the test process's own end: which of the
    two lanes is the longer one."""
    timings = config.stash[_CHECKS].timings()
    if not timings:
        return
    start = config.stash[_SESSION_START]
    terminalreporter.section("background checks")
    for name, began, ended in timings:
        terminalreporter.write_line(
            f"{ended - began:6.1f} s  {name} (from {began - start:.0f} s to {ended - start:.0f} s)"
        )
    if _FIRST_READER in config.stash:
        own = config.stash[_FIRST_READER] - start
        terminalreporter.write_line(f"the tests that read no check ended at {own:.0f} s")
    terminalreporter.write_line(f"tests ended at {time.monotonic() - start:.0f} s")


def pytest_unconfigure(config):
    config.stash[_CHECKS].stop()


@pytest.fixture(scope="session")
def background(request):
    """The session's :class:`~tests.background.BackgroundChecks`."""
    return request.config.stash[_CHECKS]


def in_thread(function):
    """``function()`` run in a new Python thread."""
    out = []
    worker = threading.Thread(target=lambda: out.append(function()))
    worker.start()
    worker.join()
    return out[0]


@pytest.fixture
def main_thread_controls_the_blas():
    """threadpoolctl (from 3.8) lets only the first thread that sets a process-wide
    OpenBLAS count set it again: make that the main thread, as any earlier
    ``pool.set_num_threads`` there does, and release it afterwards."""
    import stochnet.kernels.cpu  # noqa: F401  (the BLAS is loaded)
    from stochnet._runtime.threads import _blas_pools

    pools = _blas_pools()
    if not pools or max(pool.num_threads for pool in pools) < 2:
        pytest.skip("needs a BLAS with more than one thread")
    for pool in pools:
        pool.set_num_threads(pool.num_threads)
    yield pools
    clear = getattr(threadpoolctl.OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)
