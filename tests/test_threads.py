"""Thread counts: the CPUs the process may use, threadpoolctl limits, set_num_threads."""

import math
import os
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import stochnet as sn
from stochnet._runtime import threads as _threads

from .conftest import in_thread


@pytest.fixture
def kernel_thread_counts(monkeypatch):
    """The thread counts that the CPU kernels of a fit ran with."""
    seen = []
    original = _threads.get_num_threads

    def recording():
        seen.append(original())
        return seen[-1]

    monkeypatch.setattr(_threads, "get_num_threads", recording)
    return seen


def _fit():
    X = np.random.default_rng(0).normal(size=(64, 5))
    sn.MLPClassifier((8,), max_iter=2, random_state=0).fit(X, X[:, 0] > 0)


def test_threadpool_limits_reach_the_kernels(kernel_thread_counts):
    import stochnet.kernels.cpu  # noqa: F401  (registers the controller)

    assert any(info["internal_api"] == "numba" for info in threadpool_info())
    with threadpool_limits(1):
        _fit()
    assert kernel_thread_counts and set(kernel_thread_counts) == {1}
    kernel_thread_counts.clear()
    _fit()
    assert set(kernel_thread_counts) == {
        min(numba.config.NUMBA_NUM_THREADS, _threads.available_cpus())
    }


def test_set_num_threads_applies_and_checks_its_argument():
    previous = numba.get_num_threads()
    try:
        sn.set_num_threads(1)
        assert sn.get_num_threads() == 1
        sn.set_num_threads(10**6)  # capped at the core count
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
    finally:
        numba.set_num_threads(previous)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            sn.set_num_threads(bad)
    for bad in (1.5, True, "2"):
        with pytest.raises(TypeError, match="n must be an integer >= 1"):
            sn.set_num_threads(bad)


def test_the_default_follows_the_cpu_affinity():
    code = "import os, stochnet as sn; os.sched_setaffinity(0, {0}); print(sn.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def _cgroup(tmp_path, group, limits):
    (tmp_path / "cgroup").write_text(f"0::{group}\n")
    for where, value in limits.items():
        folder = tmp_path / "fs" / where.strip("/")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cpu.max").write_text(value + "\n")
    return _threads._cgroup_v2_quota(tmp_path / "cgroup", tmp_path / "fs")


def test_cgroup_quota_is_the_tightest_on_the_path(tmp_path):
    assert _cgroup(tmp_path, "/", {"/": "max 100000"}) == math.inf
    assert _cgroup(tmp_path, "/a/b", {"/a": "150000 100000", "/a/b": "max 100000"}) == 1.5
    assert _cgroup(tmp_path, "/c/d", {"/c": "400000 100000", "/c/d": "50000 100000"}) == 0.5
    assert _threads._cgroup_v2_quota(tmp_path / "missing", tmp_path) == math.inf


def test_a_quota_caps_the_default(monkeypatch):
    monkeypatch.setattr(_threads, "cpu_quota", lambda: 1.5)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert _threads.available_cpus() == 2
    monkeypatch.setattr(_threads, "cpu_quota", lambda: 0.2)
    assert _threads.available_cpus() == 1


class _FakeSchedstat:
    """A ``schedstat`` file whose runqueue-wait counter the test advances."""

    def __init__(self, path):
        self.path, self.wait = path, 0
        self.write()

    def write(self):
        self.path.write_text(f"0 {self.wait} 0\n")

    def waited(self, seconds):
        self.wait += int(seconds * 1e9)
        self.write()


def test_the_governor_backs_off_to_one_thread_under_contention(tmp_path, monkeypatch):
    clock = iter(np.arange(0.0, 1000.0, 0.001))  # each reading 1 ms later
    monkeypatch.setattr(_threads.time, "perf_counter_ns", lambda: int(next(clock) * 1e9))
    monkeypatch.setattr(_threads.random, "random", lambda: 0.5)  # no jitter
    stat = _FakeSchedstat(tmp_path / "schedstat")
    governor = _threads._Governor()
    governor.path = str(stat.path)
    assert governor.threads(2) == 2

    governor.start()  # a quiet region: no wait
    governor.finish(2)
    assert governor.threads(2) == 2

    governor.start()
    stat.waited(0.0009)  # 90 % of the 1 ms region spent waiting for a CPU
    governor.finish(2)
    assert governor.threads(2) == 1 and governor.threads(1) == 1
    assert governor.backoff == 2 * _threads.BACKOFF_SECONDS[0]

    governor.single_until = 0.0  # the back-off is over: all threads again
    assert governor.threads(2) == 2
    governor.start()
    stat.waited(0.0009)
    governor.finish(2)  # still contended: a longer back-off
    assert governor.threads(2) == 1
    assert governor.backoff == 4 * _threads.BACKOFF_SECONDS[0]

    governor.single_until = 0.0
    governor.start()
    governor.finish(2)  # quiet again: the back-off starts over
    assert governor.backoff == _threads.BACKOFF_SECONDS[0]


@pytest.mark.skipif(_threads._schedstat_path() is None, reason="Linux schedstat")
def test_a_fit_on_a_contended_machine_continues_on_one_thread(monkeypatch):
    """Every region counts as contended: after the first compiled call the fit runs on
    one thread, and gives the same model (thread counts never change results)."""
    if min(numba.config.NUMBA_NUM_THREADS, _threads.available_cpus()) < 2:
        pytest.skip("needs two CPUs")
    X = np.random.default_rng(0).normal(size=(256, 5))
    y = X[:, 0] > 0

    def fit():
        clf = sn.MLPClassifier((8,), batch_size=16, max_iter=3, random_state=0)
        return clf.fit(X, y).parameters_.copy()

    quiet = fit()
    counts = []
    original = _threads.KernelThreads.checkpoint

    def checkpoint(self):
        more = original(self)
        counts.append(numba.get_num_threads())
        return more

    monkeypatch.setattr(_threads, "WAIT_LIMIT", -1.0)
    monkeypatch.setattr(_threads, "MIN_REGION_NS", 0)
    monkeypatch.setattr(_threads.KernelThreads, "checkpoint", checkpoint)
    monkeypatch.setattr(_threads, "_local", __import__("threading").local())
    contended = fit()
    assert counts and set(counts) == {1}
    np.testing.assert_array_equal(contended, quiet)


def test_cgroup_v1_quota_follows_the_cpu_hierarchy(tmp_path):
    (tmp_path / "cgroup").write_text("4:cpu,cpuacct:/jobs/one\n3:memory:/jobs\n")
    for folder, quota in (("", -1), ("jobs", 250000), ("jobs/one", -1)):
        (tmp_path / "cpu" / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "cpu" / folder / "cpu.cfs_quota_us").write_text(f"{quota}\n")
        (tmp_path / "cpu" / folder / "cpu.cfs_period_us").write_text("100000\n")
    assert _threads._cgroup_v1_quota(tmp_path / "cgroup", tmp_path / "cpu") == 2.5
    assert _threads._cgroup_v1_quota(tmp_path / "missing", tmp_path / "cpu") == math.inf


def test_fits_side_by_side_share_the_cpus(monkeypatch):
    monkeypatch.setattr(_threads, "available_cpus", lambda: 4)
    with _threads.fitting():
        alone = _threads.get_num_threads()
        with _threads.fitting():
            shared = _threads.get_num_threads()
    assert alone == min(numba.get_num_threads(), 4)
    assert shared == min(numba.get_num_threads(), 2)
    assert _threads._fits_running == 0


def test_many_fits_run_on_threads_with_one_blas_thread():
    """``parallel_fits``: joblib threads by default, the BLAS at one thread inside and
    as it was afterwards."""
    import stochnet.kernels.cpu  # noqa: F401  (the BLAS is loaded)

    def blas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads()
    with _threads.parallel_fits(2) as parallel:
        assert parallel._backend.__class__.__name__ == "ThreadingBackend"
        assert blas_threads() <= {1}
    assert blas_threads() == before


def test_the_blas_limit_is_released_by_the_last_holder():
    import stochnet.kernels.cpu  # noqa: F401  (the BLAS is loaded)

    pools = _threads._blas_pools()
    before = [pool.num_threads for pool in pools]
    with _threads.one_blas_thread():
        with _threads.one_blas_thread():
            pass
        assert all(pool.num_threads == 1 for pool in pools)
    assert [pool.num_threads for pool in pools] == before


def test_the_governor_opens_its_schedstat_file_once(tmp_path, monkeypatch):
    """Reopening the file for each reading cost 12 % of a small fit on two threads:
    it is opened once and read in place, each reading current."""
    stat = _FakeSchedstat(tmp_path / "schedstat")
    governor = _threads._Governor()
    governor.path = str(stat.path)
    opened = []
    original = _threads.os.open
    monkeypatch.setattr(_threads.os, "open", lambda *a: opened.append(a) or original(*a))
    first = governor._wait_ns()
    stat.waited(0.5)
    assert governor._wait_ns() == first + 500_000_000
    assert len(opened) == 1


def test_any_thread_can_hold_the_blas_at_one_thread(main_thread_controls_the_blas):
    pools = main_thread_controls_the_blas
    before = [pool.num_threads for pool in pools]

    def held():
        with _threads.one_blas_thread():
            return [pool.num_threads for pool in pools]

    assert in_thread(held) == [1] * len(pools)
    assert [pool.num_threads for pool in pools] == before


def test_only_a_process_wide_openblas_is_set_through_the_library():
    """An OpenMP-threaded OpenBLAS (per-thread counts) and other BLAS libraries keep
    threadpoolctl's own setter."""

    class Pool:
        def __init__(self, internal_api, threading_layer):
            self.internal_api, self.threading_layer = internal_api, threading_layer
            self.dynlib = type("Library", (), {"openblas_set_num_threads": print})

    assert _threads._process_wide_setter(Pool("openblas", "pthreads")) is print
    assert _threads._process_wide_setter(Pool("openblas", "openmp")) is None
    assert _threads._process_wide_setter(Pool("mkl", "intel")) is None


def test_the_last_holder_restores_the_blas_from_any_thread(main_thread_controls_the_blas):
    """Two threads hold the BLAS at one thread, the first leaves first: the second, the
    last out, restores the count (threadpoolctl would ignore it)."""
    pools = main_thread_controls_the_blas
    before = [pool.num_threads for pool in pools]
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with _threads.one_blas_thread():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():
        first_in.wait(10)
        with _threads.one_blas_thread():
            second_in.set()
            first_out.wait(10)
            seen["inside"] = [pool.num_threads for pool in pools]

    workers = [threading.Thread(target=first), threading.Thread(target=second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert seen["inside"] == [1] * len(pools)
    assert [pool.num_threads for pool in pools] == before


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads /proc/self/maps")
def test_every_openblas_in_a_fitting_process_is_one_stochnet_limits():
    """The kernels call SciPy's BLAS (Numba's ``np.dot`` does too), NumPy has its own: a
    fresh process that fitted a model has every OpenBLAS it loaded among the pools
    stochnet holds at one thread (threadpoolctl < 3.5 found neither)."""
    script = (
        "import os, numpy as np, stochnet as sn\n"
        "from stochnet._runtime.threads import _blas_pools\n"
        "X = np.random.default_rng(0).normal(size=(64, 5))\n"
        "sn.MLPClassifier((8,), max_iter=2).fit(X, X[:, 0] > 0)\n"
        "loaded = {line.split()[-1] for line in open('/proc/self/maps')\n"
        "          if 'openblas' in line.rsplit('/', 1)[-1]}\n"
        "held = {os.path.realpath(pool.filepath) for pool in _blas_pools()}\n"
        "print(sorted(os.path.realpath(p) for p in loaded), sorted(held))\n"
        "assert loaded and {os.path.realpath(p) for p in loaded} <= held\n"
    )
    run = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
