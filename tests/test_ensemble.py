"""Deep ensembles: members, uncertainty split, calibration, Dask."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import stochnet as sn
from stochnet.uncertainty import nll

from .conftest import dask_backend

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def sigma(x):
    return 0.1 + 0.15 * (x + 3)  # 0.1 at x = -3 up to 1.0 at x = 3


def test_heteroscedastic_regression_splits_aleatoric_and_epistemic():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 2000)
    y = np.sin(x) + sigma(x) * rng.standard_normal(x.size)
    member = sn.MLPRegressor(
        hidden_layer_sizes=(64, 64), loss="gaussian_nll", learning_rate_init=0.003, max_iter=300
    )
    ens = sn.EnsembleRegressor(member, n_estimators=5, random_state=0).fit(x[:, None], y)
    grid = np.linspace(-6, 6, 601)
    r = ens.predict_uncertainty(grid[:, None])
    inside = np.abs(grid) <= 2.8
    ratio = np.median(r.aleatoric[inside] / sigma(grid[inside]) ** 2)
    assert 0.75 <= ratio <= 1.33
    far = (np.abs(grid) >= 5) & (np.abs(grid) <= 6)
    # Typical far-away epistemic variance (the median: the edge at |x| = 5 is closest to
    # the data) against the typical one inside.
    assert np.median(r.epistemic[far]) >= 5 * np.median(r.epistemic[inside])
    mean, std = ens.predict(grid[:, None], return_std=True)
    np.testing.assert_allclose(std**2, r.total)
    np.testing.assert_allclose(mean, r.mean)


def _digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def test_ensemble_nll_beats_its_average_member():
    X_train, X_test, y_train, y_test = _digits()
    ens = sn.EnsembleClassifier(
        sn.MLPClassifier((64,), max_iter=50), n_estimators=5, random_state=0
    )
    ens.fit(X_train, y_train)
    members = [nll(y_test, m.predict_proba(X_test)) for m in ens.estimators_]
    assert nll(y_test, ens.predict_proba(X_test)) < np.mean(members)
    assert ens.score(X_test, y_test) > 0.95
    r = ens.predict_uncertainty(X_test)
    wrong = ens.predict(X_test) != y_test
    assert r.epistemic[wrong].mean() > r.epistemic[~wrong].mean()


def test_members_differ_only_by_seed_and_are_reproducible():
    X_train, _, y_train, _ = _digits()
    base = sn.MLPClassifier((16,), max_iter=5, random_state=123)
    a = sn.EnsembleClassifier(base, n_estimators=3, random_state=1).fit(X_train, y_train)
    b = sn.EnsembleClassifier(base, n_estimators=3, random_state=1).fit(X_train, y_train)
    seeds = [m.random_state for m in a.estimators_]
    assert len(set(seeds)) == 3 and 123 not in seeds
    for ma, mb in zip(a.estimators_, b.estimators_, strict=True):
        np.testing.assert_array_equal(ma.parameters_, mb.parameters_)
        assert {k: v for k, v in ma.get_params().items() if k != "random_state"} == {
            k: v for k, v in base.get_params().items() if k != "random_state"
        }


@pytest.mark.slow
def test_processes_give_the_same_members():
    X_train, _, y_train, _ = _digits()
    base = sn.MLPClassifier((16,), max_iter=5)
    local = sn.EnsembleClassifier(base, n_estimators=2, random_state=7).fit(X_train, y_train)
    procs = sn.EnsembleClassifier(base, n_estimators=2, n_jobs=2, random_state=7).fit(
        X_train, y_train
    )
    for a, b in zip(local.estimators_, procs.estimators_, strict=True):
        np.testing.assert_array_equal(a.parameters_, b.parameters_)


@pytest.mark.slow
def test_dask_cluster_gives_the_same_members():
    X_train, _, y_train, _ = _digits()
    base = sn.MLPClassifier((16,), max_iter=5)
    local = sn.EnsembleClassifier(base, n_estimators=2, random_state=3).fit(X_train, y_train)
    with dask_backend():
        remote = sn.EnsembleClassifier(base, n_estimators=2, random_state=3)
        remote.fit(X_train, y_train)
    for a, b in zip(local.estimators_, remote.estimators_, strict=True):
        np.testing.assert_array_equal(a.parameters_, b.parameters_)


def test_bad_parameters():
    X_train, _, y_train, _ = _digits()
    with pytest.raises(ValueError, match="n_estimators"):
        sn.EnsembleClassifier(n_estimators=0).fit(X_train, y_train)


def test_regression_on_raw_targets_is_standardised_inside():
    """Targets of std ~140: members learn standardised ones, predictions come back in
    the units of y (R² was 0.27 when the members saw the raw targets)."""
    from sklearn.datasets import make_regression
    from sklearn.model_selection import train_test_split

    X, y = make_regression(1000, 6, noise=10, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    ens = sn.EnsembleRegressor(n_estimators=3, random_state=0).fit(X_train, y_train)
    assert ens.score(X_test, y_test) >= 0.95
    mean, std = ens.predict(X_test, return_std=True)
    assert 5 < np.median(std) < 20  # the noise's std is 10
    result = ens.predict_uncertainty(X_test)
    np.testing.assert_allclose(result.mean, mean)
    np.testing.assert_allclose(result.total, std**2)


def test_multioutput_targets_are_standardised_per_output(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = np.stack([1000 * X[:, 0] + 5000, 0.01 * X[:, 1]], axis=1)
    base = sn.MLPRegressor(hidden_layer_sizes=(16,), max_iter=300)
    ens = sn.EnsembleRegressor(base, n_estimators=2, random_state=0).fit(X, Y)
    pred = ens.predict(X)
    assert pred.shape == (200, 2)
    for k in range(2):
        assert np.corrcoef(pred[:, k], Y[:, k])[0, 1] > 0.95
    sn.io.save(ens, tmp_path / "e.npz")
    np.testing.assert_array_equal(sn.io.load(tmp_path / "e.npz").predict(X), pred)
