"""Thread counts: the CPUs the process may use, threadpoolctl limits, set_num_threads."""

import math
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import stochnet as sn
from stochnet import _threads


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
    assert set(kernel_thread_counts) == {min(numba.config.NUMBA_NUM_THREADS,
                                             _threads.available_cpus())}  # fmt: skip


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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
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
