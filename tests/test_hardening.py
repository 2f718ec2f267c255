"""Regressions of the second hardening round (#37): values that saved but did not load,
parameters ignored on a continuation, and the smaller defects found with them."""

import os
import warnings
from copy import deepcopy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone, is_classifier

import stochnet as sn
import stochnet.engine.trainer as trainer_module
import stochnet.io as snio
from stochnet.estimators import _checkpoint

from .conftest import examples


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(37)
    X = rng.normal(size=(60, 6))
    y_class = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    return X, y_class, X[:, 0] - 2 * X[:, 3]


def quietly(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def fit(estimator, data, **kwargs):
    X, y_class, y_value = data
    return quietly(estimator.fit, X, y_class if is_classifier(estimator) else y_value, **kwargs)


# ------------------------------------------------- 1. every accepted value loads
def numpy_or_python(values, numpy_types):
    """Each value as itself or as one of ``numpy_types``."""
    return st.sampled_from(values).flatmap(
        lambda v: st.sampled_from([lambda x: x, *numpy_types]).map(lambda t: t(v))
    )


INT_TYPES = (np.int64, np.int32, np.uint16)
FLOAT_TYPES = (np.float64, np.float32)

SHARED_PARAMETERS = {
    "alpha": numpy_or_python([0.0, 1e-3], FLOAT_TYPES),
    "batch_size": numpy_or_python([8, 16], INT_TYPES) | st.just("auto"),
    "learning_rate_init": numpy_or_python([0.01, 0.003], FLOAT_TYPES),
    "max_iter": numpy_or_python([2, 3], INT_TYPES),
    "random_state": numpy_or_python([0, 5], INT_TYPES),
    "tol": numpy_or_python([1e-4, 0.5], FLOAT_TYPES),
    "shuffle": numpy_or_python([True, False], (np.bool_,)),
    "early_stopping": numpy_or_python([False, True], (np.bool_,)),
    "validation_fraction": numpy_or_python([0.2, 0.3], FLOAT_TYPES),
    "n_iter_no_change": numpy_or_python([3, 10], INT_TYPES),
    "beta_1": numpy_or_python([0.9, 0.8], FLOAT_TYPES),
    "input_noise": numpy_or_python([0.0, 0.1], FLOAT_TYPES),
    "l1": numpy_or_python([0.0, 1e-3], FLOAT_TYPES),
    "prune": st.none() | numpy_or_python([0.25], FLOAT_TYPES),
}
MLP_PARAMETERS = {
    "hidden_layer_sizes": st.sampled_from(
        [5, np.int64(5), (5, 3), [5, 3], np.array([5, 3]), np.array([4], dtype=np.int32)]
    ),
    "dropout": numpy_or_python([0.0, 0.2], FLOAT_TYPES),
}
ATTENTION_PARAMETERS = {
    "d_model": numpy_or_python([4], INT_TYPES),
    "n_heads": numpy_or_python([1, 2], INT_TYPES),
    "n_layers": numpy_or_python([1], INT_TYPES),
    "d_ff": numpy_or_python([4, 6], INT_TYPES),
    "dropout": numpy_or_python([0.0, 0.1], FLOAT_TYPES),
    "attention_scale": st.none() | numpy_or_python([0.5], FLOAT_TYPES),
}
FAMILIES = {
    sn.MLPClassifier: MLP_PARAMETERS,
    sn.MLPRegressor: MLP_PARAMETERS,
    sn.AttentionClassifier: ATTENTION_PARAMETERS,
    sn.AttentionRegressor: ATTENTION_PARAMETERS,
}


@st.composite
def estimators(draw):
    cls = draw(st.sampled_from(sorted(FAMILIES, key=lambda c: c.__name__)))
    strategies = {**SHARED_PARAMETERS, **FAMILIES[cls]}
    names = draw(st.sets(st.sampled_from(sorted(strategies)), min_size=3))
    return cls(**{name: draw(strategies[name]) for name in sorted(names)})


def _same_params(a, b):
    for name, value in a.get_params(deep=False).items():
        if hasattr(value, "get_params"):
            _same_params(value, b.get_params()[name])
        else:
            np.testing.assert_array_equal(np.asarray(value), np.asarray(b.get_params()[name]))


@settings(max_examples=examples(30), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(estimator=estimators())
def test_every_accepted_value_saves_loads_and_trains_on(estimator, data, tmp_path):
    fit(estimator, data)
    path = tmp_path / "model.npz"
    snio.save(estimator, path)
    loaded = snio.load(path)
    _same_params(estimator, loaded)
    X = data[0]
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    for model in (estimator, loaded):
        model.set_params(warm_start=True)
        fit(model, data)
    np.testing.assert_array_equal(loaded.parameters_, estimator.parameters_)


@settings(max_examples=examples(10), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    member=estimators(),
    n_estimators=numpy_or_python([2], INT_TYPES),
    random_state=numpy_or_python([0, 7], INT_TYPES),
)
def test_ensembles_of_any_accepted_member_save_and_load(
    member, n_estimators, random_state, data, tmp_path
):
    ensemble_of = sn.EnsembleClassifier if is_classifier(member) else sn.EnsembleRegressor
    ensemble = ensemble_of(member, n_estimators=n_estimators, random_state=random_state)
    fit(ensemble, data)
    snio.save(ensemble, tmp_path / "ensemble.npz")
    loaded = snio.load(tmp_path / "ensemble.npz")
    _same_params(ensemble, loaded)
    np.testing.assert_array_equal(loaded.predict(data[0]), ensemble.predict(data[0]))


@pytest.fixture
def crash_at_epoch(monkeypatch):
    """``crash_at_epoch(n)``: the ``n``-th epoch from now raises ``RuntimeError``, with a
    checkpoint written at every epoch end."""
    monkeypatch.setattr(_checkpoint, "MIN_INTERVAL", 0.0)
    monkeypatch.setattr(_checkpoint, "COST_RATIO", 0.0)
    original = trainer_module.Trainer.run_epoch
    plan = {"left": None}

    def run_epoch(trainer, *args, **kwargs):
        if plan["left"] is not None:
            plan["left"] -= 1
            if plan["left"] == 0:
                plan["left"] = None
                raise RuntimeError("killed")
        return original(trainer, *args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "run_epoch", run_epoch)
    return lambda n: plan.update(left=n)


@pytest.mark.parametrize(
    "params",
    [
        dict(hidden_layer_sizes=np.int64(6), max_iter=np.int64(6)),
        dict(hidden_layer_sizes=np.array([6, 3]), max_iter=6, batch_size=np.int32(16)),
        dict(d_model=np.int64(4), n_heads=np.int32(2), d_ff=4, n_layers=1, max_iter=6),
    ],
    ids=["numpy-int", "numpy-array", "attention"],
)
def test_a_fit_with_numpy_parameters_resumes_from_its_checkpoint(
    params, data, tmp_path, crash_at_epoch
):
    path = tmp_path / "fit.ckpt"
    cls = sn.AttentionClassifier if "d_model" in params else sn.MLPClassifier
    straight = fit(cls(random_state=0, **params), data)
    crash_at_epoch(4)
    with pytest.raises(RuntimeError, match="killed"):
        fit(cls(random_state=np.int64(0), checkpoint=path, **params), data)
    assert snio.load(path).n_iter_ == 3
    resumed = fit(cls(random_state=np.int64(0), checkpoint=path, **params), data)
    np.testing.assert_array_equal(resumed.parameters_, straight.parameters_)
    assert not path.exists()


ATTENTION = dict(d_model=4, n_heads=2, n_layers=1, d_ff=4, max_iter=2)


@pytest.mark.parametrize(
    "ensemble",
    [
        sn.EnsembleClassifier(sn.AttentionClassifier(**ATTENTION), n_estimators=2, random_state=0),
        sn.EnsembleRegressor(sn.AttentionRegressor(**ATTENTION), n_estimators=2, random_state=0),
    ],
    ids=["classifier", "regressor"],
)
def test_ensembles_of_attention_models_save_and_load(ensemble, data, tmp_path):
    fit(ensemble, data)
    snio.save(ensemble, tmp_path / "ensemble.npz")
    loaded = snio.load(tmp_path / "ensemble.npz")
    np.testing.assert_array_equal(loaded.predict(data[0]), ensemble.predict(data[0]))


# ------------------------------------------- 2. continuations honour every change
@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_a_warm_start_trains_with_the_new_dropout(how, data):
    X, y, _ = data
    model = fit(sn.MLPClassifier((16,), max_iter=5, random_state=0), data)
    before = model.predict_uncertainty(X[:20], mc_samples=5, random_state=0)
    assert before.epistemic.max() < 1e-12  # float rounding of identical passes
    dense, dropped = deepcopy(model), deepcopy(model)
    for twin, rate in ((dense, 0.0), (dropped, 0.5)):
        twin.set_params(warm_start=True, dropout=rate)
        if how == "fit":
            quietly(twin.fit, X, y)
        else:
            quietly(twin.partial_fit, X, y)
    assert not np.array_equal(dense.parameters_, dropped.parameters_)
    after = dropped.predict_uncertainty(X[:20], mc_samples=5, random_state=0)
    assert after.epistemic.max() > 1e-3
    # And back to 0: the masks stop.
    dropped.set_params(dropout=0.0)
    quietly(dropped.fit, X, y)
    assert dropped.predict_uncertainty(X[:20], mc_samples=3).epistemic.max() < 1e-12


@pytest.mark.parametrize(
    ("name", "value"), [("dropout", 0.4), ("attention_dropout", 0.4), ("attention_scale", 0.2)]
)
def test_an_attention_warm_start_takes_its_new_rates(name, value, data):
    base = fit(sn.AttentionClassifier(**ATTENTION, random_state=0), data)
    same = fit(clone(base).set_params(warm_start=True), data)
    changed = clone(base).set_params(warm_start=True, **{name: value})
    fit(changed, data)
    assert not np.array_equal(same.parameters_, changed.parameters_)


@pytest.mark.parametrize(
    ("start", "then"),
    [("squared_error", "poisson"), ("squared_error", "gaussian_nll"), ("gaussian_nll", "poisson")],
)
def test_a_warm_start_with_another_loss_is_refused_by_name(start, then, data):
    X, _, y = data
    model = quietly(
        sn.MLPRegressor(hidden_layer_sizes=(5,), loss=start, max_iter=3, random_state=0).fit,
        X,
        abs(y),
    )
    model.set_params(warm_start=True, loss=then)
    with pytest.raises(ValueError, match="loss="):
        model.fit(X, abs(y))


# -------------------------------------- 3. scikit-learn's model trains on here
def test_an_imported_early_stopping_model_trains_on(data):
    from sklearn.neural_network import MLPClassifier

    X, y, _ = data
    theirs = quietly(
        MLPClassifier((8,), early_stopping=True, max_iter=20, random_state=0).fit, X, y
    )
    ours = sn.MLPClassifier.from_sklearn(theirs)
    ours.set_params(warm_start=True, max_iter=3)
    quietly(ours.fit, X, y)
    assert len(ours.validation_scores_) == len(theirs.validation_scores_) + ours.n_iter_
    assert len(ours.validation_loss_curve_) == len(ours.validation_scores_)


def test_early_stopping_switched_on_by_a_warm_start(data):
    model = fit(sn.MLPClassifier((5,), max_iter=3, random_state=0), data)
    model.set_params(warm_start=True, early_stopping=True)
    fit(model, data)
    assert len(model.validation_scores_) == model.n_iter_
    model.set_params(early_stopping=False)
    fit(model, data)
    assert np.isfinite(model.best_loss_)


# ---------------------------------------------- 4. ensembles of padded sequences
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_ensembles_take_padded_sequences(kind):
    rng = np.random.default_rng(4)
    sequences = [rng.normal(size=(rng.integers(2, 6), 3)) for _ in range(40)]
    X = sn.pad_sequences(sequences)
    y = np.array([s[:, 0].sum() > 0 for s in sequences], dtype=int)
    member = dict(**ATTENTION, padding_value=float("nan"))
    if kind == "classifier":
        ensemble = sn.EnsembleClassifier(sn.AttentionClassifier(**member), n_estimators=2)
    else:
        ensemble = sn.EnsembleRegressor(sn.AttentionRegressor(**member), n_estimators=2)
        y = y.astype(float)
    quietly(ensemble.fit, X, y)
    assert ensemble.predict(X).shape == (40,)


# ------------------------------------------------ 5. scikit-learn's stratification
@pytest.mark.parametrize(
    ("n_classes", "rows_each", "fraction"), [(3, 40, 0.01), (3, 40, 0.99), (1000, 2, 0.1)]
)
def test_multiclass_early_stopping_splits_as_scikit_learn(n_classes, rows_each, fraction):
    X = np.random.default_rng(5).normal(size=(n_classes * rows_each, 3))
    y = np.repeat(np.arange(n_classes), rows_each)
    model = sn.MLPClassifier(
        (3,), early_stopping=True, validation_fraction=fraction, max_iter=1, random_state=0
    )
    quietly(model.fit, X, y)
    assert model.n_iter_ == 1


# ------------------------------------------------ 6. a bad checkpoint path, at once
@pytest.mark.parametrize("where", ["missing folder", "under a file", "empty", "a folder"])
def test_a_checkpoint_that_cannot_be_written_fails_before_training(where, tmp_path, data):
    (tmp_path / "file").write_text("x")
    path = {
        "missing folder": tmp_path / "nowhere" / "fit.ckpt",
        "under a file": tmp_path / "file" / "fit.ckpt",
        "empty": "",
        "a folder": tmp_path,
    }[where]
    model = fit(sn.MLPClassifier((4,), max_iter=2, random_state=0), data)
    before = model.parameters_.copy()
    model.set_params(warm_start=True, checkpoint=path, max_iter=200)
    with pytest.raises(ValueError, match="checkpoint="):
        fit(model, data)
    np.testing.assert_array_equal(model.parameters_, before)
    ensemble = sn.EnsembleClassifier(sn.MLPClassifier((4,)), n_estimators=2, checkpoint=path)
    with pytest.raises(ValueError, match="checkpoint="):
        fit(ensemble, data)


def test_saving_into_a_missing_folder_names_the_target(tmp_path, data):
    model = fit(sn.MLPClassifier((4,), max_iter=2, random_state=0), data)
    target = tmp_path / "nowhere" / "model.npz"
    with pytest.raises(FileNotFoundError, match=r"model\.npz") as error:
        snio.save(model, target)
    assert ".tmp" not in str(error.value)
    assert not os.path.exists(tmp_path / "nowhere")


# ----------------------------------------------------------------- 8. smaller ones
def test_an_ensemble_regressor_on_huge_targets_stays_finite():
    X = np.linspace(-1, 1, 40).reshape(-1, 1)
    y = 1e200 * (1 + X.ravel())
    ensemble = sn.EnsembleRegressor(n_estimators=2, random_state=0)
    quietly(ensemble.fit, X, y)
    mean, std = ensemble.predict(X, return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(std))


def test_onnx_masks_the_fitted_padding_after_set_params():
    pytest.importorskip("onnxruntime")
    from .test_onnx import run

    rng = np.random.default_rng(8)
    sequences = [rng.normal(size=(rng.integers(2, 5), 2)) for _ in range(20)]
    X = sn.pad_sequences(sequences)
    model = sn.AttentionClassifier(**ATTENTION, padding_value=float("nan"), random_state=0)
    quietly(model.fit, X, np.arange(20) % 2)
    model.set_params(padding_value=None)
    proba = run(model, X, dtype=np.float64)["probabilities"]
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-12)


def test_an_unknown_compression_method_is_a_value_error(data, tmp_path):
    path = tmp_path / "model.npz"
    snio.save(fit(sn.MLPClassifier((3,), max_iter=1, random_state=0), data), path)
    raw = bytearray(path.read_bytes())
    entry = raw.index(b"PK\x01\x02")  # the central directory's first entry
    raw[entry + 10] = 99  # its compression method: one zipfile does not know
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt"):
        snio.load(path)


def test_metrics_take_float_labels_and_classes_in_any_order():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    expected = sn.uncertainty.nll([0, 1], proba)
    assert sn.uncertainty.nll([0.0, 1.0], proba, classes=[0.0, 1.0, 2.0]) == expected
    # Column j of proba is classes[j], whatever their order.
    assert sn.uncertainty.nll(["b", "c"], proba, classes=["b", "c", "a"]) == expected
    assert sn.uncertainty.brier_score([2, 0], proba, classes=[2, 0, 1]) == (
        sn.uncertainty.brier_score([0, 1], proba)
    )
    with pytest.raises(ValueError, match="not in classes"):
        sn.uncertainty.nll(["d", "c"], proba, classes=["b", "c", "a"])


def test_mc_samples_takes_numpy_integers(data):
    model = fit(sn.MLPClassifier((4,), dropout=0.2, max_iter=2, random_state=0), data)
    result = model.predict_uncertainty(data[0][:5], mc_samples=np.int64(3), return_samples=True)
    assert result.samples.shape[0] == 3


def test_jacobian_norms_of_an_attention_model_is_a_clear_type_error(data):
    model = fit(sn.AttentionClassifier(**ATTENTION, random_state=0), data)
    with pytest.raises(TypeError, match="MLPClassifier or MLPRegressor"):
        sn.diagnostics.jacobian_norms(model, data[0])
