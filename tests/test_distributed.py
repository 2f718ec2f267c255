"""The examples of the user guide's "beyond one machine" page, run."""

import tracemalloc

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

import stochnet as sn

from .conftest import dask_backend

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

rng = np.random.default_rng(0)
X_np = rng.normal(size=(2000, 5))
y_np = (X_np[:, 0] + 0.5 * X_np[:, 1] > 0).astype(int)


def test_a_memmap_trains_and_predicts_without_a_copy(tmp_path):
    n, d = 100_000, 50  # 20 MB: far above the fixed prediction workspace (~4 MB)
    data = np.random.default_rng(1).normal(size=(n, d)).astype(np.float32)
    labels = (data[:, 0] > 0).astype(int)
    data.tofile(tmp_path / "X.f32")
    X = np.memmap(tmp_path / "X.f32", dtype=np.float32, mode="r", shape=(n, d))
    params = dict(hidden_layer_sizes=(16,), max_iter=2, random_state=0)
    in_memory = sn.MLPClassifier(**params).fit(data, labels)
    sn.MLPClassifier(**params).fit(X, labels).predict_proba(X)  # kernels for read-only X
    tracemalloc.start()
    try:
        on_disk = sn.MLPClassifier(**params).fit(X, labels)
        proba = on_disk.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 2  # X was never copied
    np.testing.assert_array_equal(on_disk.parameters_, in_memory.parameters_)
    np.testing.assert_array_equal(proba, in_memory.predict_proba(data))


def test_dask_ml_incremental_and_parallel_post_fit():
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = da.from_array(X_np, chunks=500), da.from_array(y_np, chunks=500)
    clf = sn.MLPClassifier((16,), learning_rate_init=0.01, random_state=0)
    model = wrappers.Incremental(clf, scoring="accuracy")
    for _ in range(10):
        model.partial_fit(X, y, classes=[0, 1])
    assert model.score(X, y) > 0.9
    assert model.estimator_.n_iter_ == 1 and model.estimator_.t_ == 10 * len(y_np)

    fitted = wrappers.ParallelPostFit(sn.MLPClassifier((16,), max_iter=50, random_state=0))
    fitted.fit(X_np, y_np)
    np.testing.assert_array_equal(fitted.predict(X).compute(), fitted.estimator.predict(X_np))


@pytest.mark.slow
def test_grid_search_on_a_dask_cluster_equals_the_local_one():
    grid = {"dropout": [0.0, 0.2]}
    base = sn.MLPClassifier((8,), max_iter=20, random_state=0)
    local = GridSearchCV(base, grid, cv=3).fit(X_np, y_np)
    with dask_backend():
        remote = GridSearchCV(base, grid, cv=3).fit(X_np, y_np)
    np.testing.assert_array_equal(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(
        remote.best_estimator_.parameters_, local.best_estimator_.parameters_
    )
