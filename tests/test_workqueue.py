"""Numba's workqueue threading layer aborts the process when two Python threads are in
parallel regions at once. Under it, fits, predictions and draws side by side run their
kernels on one thread each (serial paths, the same bits), and only one Python thread at
a time may run kernels on several (``_runtime.threads``)."""

import os
import subprocess
import sys
import textwrap
import threading

import numba
import pytest

from stochnet._runtime import threads

from .conftest import in_thread

SCRIPT = textwrap.dedent(
    """
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    import joblib
    import numba
    import numpy as np
    from sklearn.model_selection import GridSearchCV

    import stochnet as sn
    from stochnet.engine.checks import has_nonfinite

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 256))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    X_test, y_test = X[:150], y[:150]
    # 256 x 300 initial weights: draws large enough for a parallel region.
    mlp = sn.MLPClassifier((300,), max_iter=3)

    def study(n_jobs):
        return sn.study.seed_variance(mlp, X, y, X_test, y_test, sources=("init",),
                                      n_seeds=4, n_refits=0, include_all=False,
                                      n_jobs=n_jobs).runs

    one, two = study(1), study(2)
    assert one.score.tolist() == two.score.tolist()

    def ensemble(n_jobs):
        ens = sn.EnsembleClassifier(mlp, n_estimators=4, n_jobs=n_jobs, random_state=0)
        return ens.fit(X, y).predict_proba(X_test)

    np.testing.assert_array_equal(ensemble(1), ensemble(2))

    with joblib.parallel_backend("threading"):
        GridSearchCV(mlp, {"alpha": [1e-4, 1e-2]}, cv=2, n_jobs=2).fit(X, y)

    X_big = rng.normal(size=(4000, 256))
    for model in (mlp.set_params(random_state=0).fit(X, y),
                  sn.AttentionClassifier(d_model=8, n_heads=2, d_ff=8, max_iter=1,
                                         random_state=0).fit(X[:, :8], y)):
        parts = np.array_split(X_big[:, : model.n_features_in_], 4)
        serial = [model.predict_proba(p) for p in parts]
        with ThreadPoolExecutor(4) as pool:
            side_by_side = list(pool.map(model.predict_proba, parts))
        np.testing.assert_array_equal(np.vstack(side_by_side), np.vstack(serial))

    with ThreadPoolExecutor(4) as pool:
        draws = list(pool.map(lambda s: sn.random.normal(300_000, s), [7] * 8))
        checks = list(pool.map(has_nonfinite, [X_big] * 8))
    assert all(np.array_equal(d, sn.random.normal(300_000, 7)) for d in draws)
    assert not any(checks)
    print("layer", numba.threading_layer())
    """
)


@pytest.mark.slow
def test_fits_predictions_and_draws_side_by_side_under_workqueue():
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert "layer workqueue" in run.stdout


@pytest.fixture
def workqueue(monkeypatch):
    """This process's layer taken for workqueue (the claims only; no kernel runs)."""
    monkeypatch.setattr(threads, "one_region_at_a_time", lambda: True)
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)


def _count():
    with threads.calling_threads() as count:
        return count, numba.get_num_threads()


def test_one_thread_at_a_time_runs_kernels_on_several(workqueue):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one CPU: every count is 1")
    with threads.kernel_threads() as pool:
        assert pool.count == 2 and pool.region
        assert in_thread(_count) == (1, 1)  # another thread: one, and no waiting
        with threads.calling_threads() as count:  # the holder keeps it (reentrant)
            assert count == 2
    assert in_thread(_count) == (2, 2)  # released


def test_a_thread_without_the_region_takes_it_when_its_count_rises(workqueue):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one CPU: every count is 1")
    holder_in, holder_out = threading.Event(), threading.Event()

    def hold():
        with threads.calling_threads():
            holder_in.set()
            holder_out.wait()

    worker = threading.Thread(target=hold)
    worker.start()
    holder_in.wait()
    with threads.kernel_threads() as pool:
        assert (pool.count, pool.region) == (1, False)
        holder_out.set()
        worker.join()
        pool.governor.single_until = 0.0
        assert pool.checkpoint() and (pool.count, pool.region) == (2, True)
    assert not pool.region


def test_other_layers_need_no_region(monkeypatch):
    monkeypatch.setattr(threads, "one_region_at_a_time", lambda: False)
    assert threads._claim_region(4) == (4, False)
