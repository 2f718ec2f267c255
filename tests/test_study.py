"""Seed-variance studies (#36): runs that re-fit to their scores, components recomputed
by hand, Jordan's split, the paired comparison, parallel and cached execution."""

import os
import warnings

import numpy as np
import pytest
import scipy.stats
from sklearn.base import clone
from sklearn.datasets import load_digits

import stochnet as sn
from stochnet.estimators import _epochs
from stochnet.study import _runs, _stats

from .conftest import dask_backend

pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:300], y[:300], X[300:500], y[300:500]


def mlp(**params):
    return sn.MLPClassifier(**{"hidden_layer_sizes": (16,), "max_iter": 8, **params})


@pytest.fixture(scope="module")
def study(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sn.study.seed_variance(
            mlp(dropout=0.2, early_stopping=True), *digits, n_seeds=3, n_refits=3
        )


# ------------------------------------------------------------------ the runs
def test_every_source_the_model_draws_from_is_studied(study):
    expected = ["init", "shuffle", "dropout", "validation", "train_sample", "perturbation"]
    assert list(dict.fromkeys(study.runs["source"])) == [*expected, "all"]
    assert study.components["source"].tolist() == [*expected, "all", "refit"]
    assert len(study.runs) == 3 * 7


@pytest.mark.parametrize("row", [0, 4, 7, 12, 15, 19])
def test_a_row_refits_to_its_score_from_its_seeds(study, digits, row):
    spec = study.run(row)
    assert study.random_state(row) == dict(spec.seeds)
    assert study.refit(row) == study.runs["score"][row]
    # By hand: the row's seeds as a random_state mapping, its bootstrap and perturbation.
    X, y, X_test, y_test = digits
    model = clone(study._estimator).set_params(random_state=study.random_state(row))
    if spec.train_sample is not None:
        rows = _runs.bootstrap_rows(len(y), spec.train_sample)
        X, y = X[rows], y[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec.perturbation is None:
            model.fit(X, y)
            assert model.score(X_test, y_test) == study.runs["score"][row]


def test_the_runs_table_names_each_source_seed(study):
    runs = study.runs
    dropout = runs[runs["source"] == "dropout"]
    assert dropout["dropout"].tolist() == [1, 2, 3]
    assert (dropout["init"] == 0).all() and dropout["train_sample"].isna().all()
    sample = runs[runs["source"] == "train_sample"]
    assert sample["train_sample"].tolist() == [1, 2, 3] and (sample["init"] == 0).all()
    everything = runs[runs["source"] == "all"]
    assert (everything["init"] == everything["dropout"]).all()
    assert (everything["perturbation"] == everything["init"]).all()


def test_refits_with_equal_seeds_differ_by_exactly_zero(study):
    assert len(study.refits) == 3
    assert (study.refits["difference"] == 0).all()
    refit = study.components.set_index("source").loc["refit"]
    assert refit["sd"] == 0 and refit["sd_high"] == 0


# ---------------------------------------------------------------- components
def test_components_recomputed_by_hand(study):
    components = study.components.set_index("source")
    for source, group in study.runs.groupby("source", sort=False):
        scores = group["score"].to_numpy()
        k, s2 = len(scores), scores.var(ddof=1)
        row = components.loc[source]
        assert row["n"] == k and row["mean"] == pytest.approx(scores.mean(), abs=1e-15)
        assert row["var"] == pytest.approx(s2, rel=1e-12, abs=1e-18)
        low = (k - 1) * s2 / scipy.stats.chi2.ppf(0.975, k - 1)
        high = (k - 1) * s2 / scipy.stats.chi2.ppf(0.025, k - 1)
        assert row["var_low"] == pytest.approx(low, rel=1e-12, abs=1e-18)
        assert row["var_high"] == pytest.approx(high, rel=1e-12, abs=1e-18)
        # Jordan's split and the disagreement from the correctness matrix.
        mask = (study.runs["source"] == source).to_numpy()
        c = study.correct[mask].astype(float)
        n = c.shape[1]
        error = 1 - c.mean(axis=0)
        v_test = sum(e * (1 - e) for e in error) / n**2
        assert row["var_test"] == pytest.approx(v_test, rel=1e-12, abs=1e-18)
        v_acc = np.var(c.mean(axis=1), ddof=1)
        assert row["var_distribution"] == pytest.approx(n / (n - 1) * (v_acc - v_test), abs=1e-15)
        p = study.predictions[mask]
        pairs = [(i, j) for i in range(len(p)) for j in range(i + 1, len(p))]
        assert row["disagreement"] == pytest.approx(
            np.mean([np.mean(p[i] != p[j]) for i, j in pairs])
        )


def test_jordan_estimator_against_a_direct_computation():
    rng = np.random.default_rng(0)
    correct = rng.random((12, 50)) < rng.uniform(0.6, 0.95, 50)
    split = _stats.jordan_split(correct)
    R, n = correct.shape
    accuracies = [correct[r].sum() / n for r in range(R)]
    mean = sum(accuracies) / R
    var_acc = sum((a - mean) ** 2 for a in accuracies) / (R - 1)
    eps = [1 - correct[:, i].sum() / R for i in range(n)]
    var_test = sum(e * (1 - e) for e in eps) / n**2
    assert split["var_accuracy"] == pytest.approx(var_acc, rel=1e-12)
    assert split["var_test"] == pytest.approx(var_test, rel=1e-12)
    assert split["var_distribution"] == pytest.approx(n / (n - 1) * (var_acc - var_test), rel=1e-9)


@pytest.mark.parametrize("kind", ["labels", "strings", "multilabel", "two runs"])
def test_mean_disagreement_against_every_pair(kind):
    rng = np.random.default_rng(1)
    predictions = {
        "labels": rng.integers(0, 4, (9, 30)),
        "strings": np.array(["cat", "dog", "eel"])[rng.integers(0, 3, (6, 20))],
        "multilabel": rng.integers(0, 2, (7, 25, 3)),
        "two runs": rng.integers(0, 2, (2, 10)),
    }[kind]
    runs = predictions.shape[0]
    pairs = [(i, j) for i in range(runs) for j in range(i + 1, runs)]
    differ = [
        np.mean([not np.array_equal(predictions[i][k], predictions[j][k]) for k in range(
            predictions.shape[1])])
        for i, j in pairs
    ]  # fmt: skip
    assert _stats.mean_disagreement(predictions) == pytest.approx(np.mean(differ), rel=1e-12)
    assert np.isnan(_stats.mean_disagreement(predictions[:1]))


def test_anova_components_of_a_known_table():
    rows, cols = np.array([0.0, 1.0, 2.0, 5.0]), np.array([0.0, 3.0, -1.0])
    table = rows[:, None] + cols[None, :]  # additive: no interaction
    anova = _stats.anova_two_way(table)
    assert anova["ms_ab"] == pytest.approx(0.0, abs=1e-12)
    assert anova["var_a"] == pytest.approx(np.var(rows, ddof=1))
    assert anova["var_b"] == pytest.approx(np.var(cols, ddof=1))
    noisy = table + np.array([[1, -1, 0], [0, 0, 0], [-1, 1, 0], [0, 0, 0]])
    anova = _stats.anova_two_way(noisy)
    y, a, b = noisy, 4, 3
    ms_a = b * np.sum((y.mean(1) - y.mean()) ** 2) / (a - 1)
    resid = y - y.mean(1, keepdims=True) - y.mean(0, keepdims=True) + y.mean()
    ms_ab = np.sum(resid**2) / ((a - 1) * (b - 1))
    assert anova["var_a"] == pytest.approx((ms_a - ms_ab) / b)
    assert anova["var_ab"] == pytest.approx(ms_ab)


def test_a_crossed_study(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = sn.study.seed_variance(
            mlp(), *digits, sources=("init", "shuffle"), design="crossed", n_seeds=3
        )
    assert len(study.runs) == 9 and set(study.runs["source"]) == {"init×shuffle"}
    grid = study.runs.pivot(index="init", columns="shuffle", values="score").to_numpy()
    anova = _stats.anova_two_way(grid)
    components = study.components.set_index("source")
    assert components.loc["init", "var"] == anova["var_a"]
    assert components.loc["init×shuffle", "var"] == anova["var_ab"]
    assert components.loc["total", "sd"] == pytest.approx(np.std(grid, ddof=1))
    low, high = components.loc["init", ["var_low", "var_high"]]
    assert low <= high


def test_an_attention_regressor_study():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    y = X[:, 0] - X[:, 1]
    model = sn.AttentionRegressor(d_model=4, n_heads=1, n_layers=1, d_ff=4, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = sn.study.seed_variance(
            model, X[:60], y[:60], X[60:], y[60:], sources=("init", "perturbation"), n_seeds=2
        )
    assert study.correct is None
    assert study.components["var_test"].isna().all()
    assert (study.refits["difference"] == 0).all()


@pytest.mark.parametrize("task", ["classes", "multilabel", "regression"])
def test_the_default_score_is_the_estimators_own(task, digits):
    """Without ``scoring`` a run scores its predictions as ``estimator.score`` does."""
    X, y, X_test, y_test = digits
    if task == "classes":
        model, target, target_test = mlp(), y, y_test
    elif task == "multilabel":
        model, target, target_test = mlp(), np.c_[y % 2, y > 4], np.c_[y_test % 2, y_test > 4]
    else:
        model = sn.MLPRegressor(hidden_layer_sizes=(16,), max_iter=8)
        target, target_test = y / 9.0, y_test / 9.0
    run = _runs.make_run("init", {"init": 4}, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score, _, _ = _runs.fit_run(
            model, run, X, target, X_test, target_test, _runs.OwnScore(task != "regression")
        )
        fitted = clone(model).set_params(random_state=run.random_state).fit(X, target)
    assert score == fitted.score(X_test, target_test)


# ---------------------------------------------------------------- the probes
def test_the_perturbation_changes_one_weight_by_one_ulp(digits):
    X, y = digits[:2]
    model = mlp(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.loss_and_grad(X, y)
    before = model.parameters_.copy()
    index = _runs.perturb_one_weight(model.network_, 5)
    after = model.parameters_
    assert np.flatnonzero(after != before).tolist() == [index]
    assert after[index] == np.nextafter(before[index], np.inf)


def test_training_from_the_built_network_is_the_fit(digits):
    """The perturbation probe trains a built network with warm_start: unperturbed, that
    is the plain fit to the bit."""
    X, y = digits[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = mlp(dropout=0.2, early_stopping=True, random_state=3).fit(X, y)
        built = mlp(dropout=0.2, early_stopping=True, random_state=3)
        built.loss_and_grad(X, y)
        built.set_params(warm_start=True).fit(X, y)
    np.testing.assert_array_equal(plain.parameters_, built.parameters_)
    assert plain.validation_scores_ == built.validation_scores_


def test_the_bootstrap_draws_rows_with_replacement():
    rows = _runs.bootstrap_rows(1000, 4)
    assert rows.min() >= 0 and rows.max() < 1000
    assert 600 < len(np.unique(rows)) < 660  # 1 - 1/e of the rows, about 632
    np.testing.assert_array_equal(rows, _runs.bootstrap_rows(1000, 4))


# ---------------------------------------------------------------- comparison
def test_comparing_a_configuration_with_itself_gives_no_verdict(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sn.study.compare(mlp(), mlp(), *digits, n_seeds=6)
    assert result.p_better == 0.5 and result.p_interval[0] <= 0.5 <= result.p_interval[1]
    assert result.verdict is None and result.mean_difference == 0
    assert "no verdict" in result.summary()


def test_comparing_clearly_different_configurations(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sn.study.compare(mlp(max_iter=30), mlp(max_iter=1), *digits, n_seeds=8)
    assert result.verdict == "A" and result.p_better == 1.0
    assert result.difference_interval[0] > 0
    swapped = _stats.paired_comparison(result.runs["score_b"], result.runs["score_a"])
    assert swapped["verdict"] == "B"


# ----------------------------------------------------------------- execution
def test_results_do_not_depend_on_the_workers(digits):
    kwargs = dict(sources=("init", "dropout"), n_seeds=2, include_all=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = sn.study.seed_variance(mlp(dropout=0.2), *digits, n_jobs=1, **kwargs)
        two = sn.study.seed_variance(mlp(dropout=0.2), *digits, n_jobs=2, **kwargs)
        with dask_backend():
            dask = sn.study.seed_variance(mlp(dropout=0.2), *digits, **kwargs)
    for other in (two, dask):
        np.testing.assert_array_equal(other.runs["score"], one.runs["score"])
        np.testing.assert_array_equal(other.predictions, one.predictions)


def _cached_calls(location):
    return sorted(
        os.path.join(folder, name)
        for folder, _, files in os.walk(location)
        for name in files
        if name == "output.pkl"
    )


def test_a_killed_study_resumes_fitting_only_what_is_missing(digits, tmp_path, monkeypatch):
    kwargs = dict(sources=("init", "shuffle"), include_all=False, n_refits=0, memory=tmp_path)
    original, epochs = _epochs.EpochBookkeeping.stopping, []

    def dies_after_three_fits(bookkeeping, loss):
        epochs.append(1)
        if len(epochs) > 3 * 8:  # three fits of 8 epochs
            raise KeyboardInterrupt
        return original(bookkeeping, loss)

    monkeypatch.setattr(_epochs.EpochBookkeeping, "stopping", dies_after_three_fits)
    with warnings.catch_warnings(), pytest.raises(KeyboardInterrupt):
        warnings.simplefilter("ignore")
        sn.study.seed_variance(mlp(), *digits, n_seeds=2, n_jobs=1, **kwargs)
    assert len(_cached_calls(tmp_path)) == 3
    epochs.clear()
    monkeypatch.setattr(
        _epochs.EpochBookkeeping,
        "stopping",
        lambda bookkeeping, loss: epochs.append(1) or original(bookkeeping, loss),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = sn.study.seed_variance(mlp(), *digits, n_seeds=3, n_jobs=1, **kwargs)
    assert len(epochs) == (6 - 3) * 8  # 6 runs, 3 of them read back
    assert len(_cached_calls(tmp_path)) == 6
    np.testing.assert_array_equal(study.runs["score"][:1], [study.refit(0)])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("estimator", "kwargs", "error", "match"),
    [
        (mlp(), dict(sources=("dropot",)), ValueError, "Unknown source 'dropot'"),
        (mlp(), dict(sources=("dropout",)), ValueError, "never draws from 'dropout'"),
        (mlp(), dict(n_seeds=1), ValueError, "n_seeds must be an int >= 2"),
        (mlp(), dict(scoring="r2"), ValueError, "scoring='r2' does not fit a classifier"),
        (sn.MLPRegressor(), dict(scoring="accuracy"), ValueError, "does not fit a regressor"),
        (mlp(), dict(design="nested"), ValueError, "design must be one of"),
        (mlp(), dict(design="crossed", sources=("init",)), ValueError, "crosses two sources"),
        (sn.EnsembleClassifier(), {}, TypeError, "stochnet network estimator"),
    ],
)
def test_bad_input_is_named(estimator, kwargs, error, match, digits):
    with pytest.raises(error, match=match):
        sn.study.seed_variance(estimator, *digits, **kwargs)


def test_summary_and_plot(study):
    text = study.summary()
    assert "refits with equal seeds: 3, largest score difference 0.0" in text
    assert "dropout" in text and "distribution" in text
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    axes = study.plot()
    assert len(axes) == 2


def test_verbose_shows_progress_with_an_eta(digits, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sn.study.seed_variance(mlp(), *digits, sources=("init",), n_seeds=2, n_refits=0, verbose=1)
    err = capsys.readouterr().err
    assert "2/2 fits" in err and "fits/s" in err and "ETA" in err
