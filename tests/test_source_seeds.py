"""Per-source seeds: ``random_state={"default": s, source: t}`` varies one source of
randomness and holds every other (#35)."""

import warnings
from copy import deepcopy

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import stochnet as sn
import stochnet.engine.trainer as trainer_module
import stochnet.io as snio
from stochnet.estimators import _checkpoint
from stochnet.random import SOURCES, source_keys


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(35)
    X = rng.normal(size=(64, 16))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)


def quietly(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


#: What each source needs to be drawn from, for an MLP and an attention model.
USES = {
    "init": {},
    "shuffle": {"shuffle": True},
    "dropout": {"dropout": 0.3},
    "noise": {"input_noise": 0.2},
    "crop": {"augment": sn.RandomCrop(3, padding=1)},
    "prune": {"prune": 0.3, "prune_method": "random"},
    "validation": {"early_stopping": True, "validation_fraction": 0.25},
}
#: The same model without the source (``init`` has no such model).
WITHOUT = {
    "shuffle": {"shuffle": False},
    "dropout": {"dropout": 0.0},
    "noise": {"input_noise": 0.0},
    "crop": {"augment": None},
    "prune": {"prune": None},
    "validation": {"early_stopping": False},
}


def mlp(**params):
    base = dict(hidden_layer_sizes=(8,), max_iter=3, batch_size=16, random_state=0)
    return sn.MLPClassifier(**{**base, **params})


def attention(**params):
    params.pop("augment", None)  # crops are the MLP's
    base = dict(d_model=4, n_heads=2, n_layers=1, d_ff=4, max_iter=3, batch_size=16)
    return sn.AttentionClassifier(**{**base, "random_state": 0, **params})


FAMILIES = {"mlp": mlp, "attention": attention}
EVERYTHING = {k: v for uses in USES.values() for k, v in uses.items()}


def fitted(model, data):
    X, y = data
    if isinstance(model.augment if hasattr(model, "augment") else None, sn.RandomCrop):
        X = X.reshape(-1, 4, 4)
    return quietly(model.fit, X, y)


def outcome(model):
    history = [*model.loss_curve_, *(model.validation_scores_ or [])]
    return np.concatenate([model.parameters_, history])


def initial_parameters(model, data):
    """The parameters a fit starts from (the network built, pruned at init, untrained)."""
    X, y = data
    if isinstance(getattr(model, "augment", None), sn.RandomCrop):
        X = X.reshape(-1, 4, 4)
    model = clone(model)
    quietly(model.loss_and_grad, X, y)
    return model.parameters_.copy()


def sources_of(family):
    return [s for s in SOURCES if not (family == "attention" and s == "crop")]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_seed_and_its_default_mapping_are_the_same_fit(family, data):
    everything = {k: v for k, v in EVERYTHING.items() if family == "mlp" or k != "augment"}
    plain = fitted(FAMILIES[family](**everything, random_state=7), data)
    mapped = fitted(FAMILIES[family](**everything, random_state={"default": 7}), data)
    np.testing.assert_array_equal(outcome(plain), outcome(mapped))
    assert source_keys(7) == source_keys({"default": 7})


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("source", [s for s in SOURCES if s != "init"])
def test_a_source_the_model_does_not_draw_from_changes_no_bit(family, source, data):
    if source not in sources_of(family):
        pytest.skip("attention models take no crops")
    model = FAMILIES[family](**WITHOUT[source])
    a = fitted(clone(model).set_params(random_state={"default": 0, source: 1}), data)
    b = fitted(clone(model).set_params(random_state={"default": 0, source: 2}), data)
    np.testing.assert_array_equal(outcome(a), outcome(b))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("source", SOURCES)
def test_a_new_seed_for_one_source_changes_only_its_draws(family, source, data):
    """Under every source at once, a new seed for ``source`` changes the fit, leaves
    the keys of the other sources as they were, and (but for ``init`` and ``prune``,
    drawn at build time) the initial parameters."""
    if source not in sources_of(family):
        pytest.skip("attention models take no crops")
    everything = {k: v for k, v in EVERYTHING.items() if family == "mlp" or k != "augment"}
    model = FAMILIES[family](**everything)
    base = clone(model).set_params(random_state={"default": 0})
    other = clone(model).set_params(random_state={"default": 0, source: 1})
    a, b = fitted(clone(base), data), fitted(clone(other), data)
    assert not np.array_equal(outcome(a), outcome(b))
    same = [s for s in SOURCES if s != source]
    assert [a._keys[s] for s in same] == [b._keys[s] for s in same]
    assert a._keys[source] != b._keys[source]
    if source not in ("init", "prune"):
        np.testing.assert_array_equal(
            initial_parameters(base, data), initial_parameters(other, data)
        )
    if source == "dropout":  # the batch order is the same too
        n = data[0].shape[0]
        np.testing.assert_array_equal(
            a._trainer._epoch_order(n, None), b._trainer._epoch_order(n, None)
        )


def test_same_initial_weights_three_dropout_seeds(data):
    """The reproducibility guide's example: fine-tuning stories start from one network."""
    models = [
        fitted(mlp(dropout=0.3, random_state={"default": 0, "dropout": s}), data) for s in range(3)
    ]
    starts = [initial_parameters(m, data) for m in models]
    assert all(np.array_equal(starts[0], s) for s in starts[1:])
    ends = [m.parameters_ for m in models]
    assert not np.array_equal(ends[0], ends[1]) and not np.array_equal(ends[1], ends[2])


def test_unknown_sources_are_named_with_the_valid_ones(data):
    with pytest.raises(ValueError, match=r"'dropot'.*'default', 'init', 'shuffle', 'dropout'"):
        fitted(mlp(random_state={"dropot": 1}), data)
    with pytest.raises(TypeError, match=r"random_state\['init'\]"):
        fitted(mlp(random_state={"init": "one"}), data)
    with pytest.raises(ValueError, match=r"random_state\['init'\] must be in"):
        fitted(mlp(random_state={"init": -1}), data)


def test_without_default_the_other_sources_are_fresh(data):
    a = fitted(mlp(random_state={"dropout": 1}), data)
    b = fitted(mlp(random_state={"dropout": 1}), data)
    assert a._keys["dropout"] == b._keys["dropout"]
    assert a._keys["init"] != b._keys["init"]
    assert a._keys["init"] == a._keys["shuffle"]  # the missing default: drawn once


# -------------------------------------------------- mappings travel everywhere
SEEDS = {"default": 3, "dropout": 4, "init": 5}


def test_mappings_pass_through_params_clone_and_search(data):
    model = mlp(dropout=0.2, random_state=dict(SEEDS))
    assert clone(model).get_params()["random_state"] == SEEDS
    assert clone(model).set_params(random_state=SEEDS).random_state == SEEDS
    candidates = [{"default": 0}, {"default": 0, "dropout": 1}]
    search = GridSearchCV(mlp(dropout=0.2), {"random_state": candidates}, cv=2)
    quietly(search.fit, *data)
    assert search.best_params_["random_state"] in candidates
    assert search.best_estimator_.random_state in candidates


def test_mappings_survive_save_and_load_and_continue_alike(data, tmp_path):
    model = fitted(mlp(dropout=0.2, random_state=dict(SEEDS)), data)
    snio.save(model, tmp_path / "model.npz")
    loaded = snio.load(tmp_path / "model.npz")
    assert loaded.random_state == SEEDS and loaded._keys == model._keys
    for m in (model, loaded):
        m.set_params(warm_start=True)
        fitted(m, data)
    np.testing.assert_array_equal(model.parameters_, loaded.parameters_)


def test_a_fit_with_a_mapping_resumes_from_its_checkpoint(data, tmp_path, monkeypatch):
    monkeypatch.setattr(_checkpoint, "MIN_INTERVAL", 0.0)
    monkeypatch.setattr(_checkpoint, "COST_RATIO", 0.0)
    params = dict(dropout=0.2, max_iter=6, random_state=dict(SEEDS))
    straight = fitted(mlp(**params), data)
    original, calls = trainer_module.Trainer.run_epoch, []

    def crash_on_the_fourth(trainer, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("killed")
        return original(trainer, *args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "run_epoch", crash_on_the_fourth)
    path = tmp_path / "fit.ckpt"
    with pytest.raises(RuntimeError, match="killed"):
        fitted(mlp(checkpoint=path, **params), data)
    resumed = fitted(mlp(checkpoint=path, **params), data)
    np.testing.assert_array_equal(resumed.parameters_, straight.parameters_)
    with pytest.raises(RuntimeError, match="killed"):
        calls.clear()
        fitted(mlp(checkpoint=path, **params), data)
    other = {**params, "random_state": {**SEEDS, "dropout": 9}}
    with pytest.raises(ValueError, match="random_state"):
        fitted(mlp(checkpoint=path, **other), data)  # another fit: refused by name


def test_a_warm_start_reseeds_only_the_sources_it_names(data):
    model = fitted(mlp(dropout=0.2, random_state={"dropout": 1}), data)
    keys = dict(model._keys)
    model.set_params(warm_start=True, random_state={"dropout": 2})
    fitted(model, data)
    assert model._keys["dropout"] != keys["dropout"]
    assert {s: k for s, k in model._keys.items() if s != "dropout"} == {
        s: k for s, k in keys.items() if s != "dropout"
    }


# -------------------------------------------------------------- MC dropout
def test_mc_dropout_draws_from_its_own_stream(data):
    X, _ = data
    model = fitted(mlp(dropout=0.3), data)
    samples = model.predict_uncertainty(X, mc_samples=2, random_state=5, return_samples=True)
    net = model.network_
    key = sn.random.derive_key(5)
    own = net.predict(X, dropout=True, key=key, step=0, stream="mc_dropout")
    training = net.predict(X, dropout=True, key=key, step=0, stream="dropout")
    np.testing.assert_array_equal(samples.samples[0], own)
    assert not np.array_equal(own, training)


# ---------------------------------------------------------------- ensembles
def test_an_ensemble_varies_only_the_sources_it_is_asked_to(data):
    ensemble = sn.EnsembleClassifier(
        mlp(dropout=0.3), n_estimators=3, random_state=0, vary=("init",)
    )
    quietly(ensemble.fit, *data)
    keys = [m._keys for m in ensemble.estimators_]
    assert len({k["init"] for k in keys}) == 3
    for source in SOURCES:
        if source != "init":
            assert len({k[source] for k in keys}) == 1
    starts = [initial_parameters(m, data) for m in ensemble.estimators_]
    assert not np.array_equal(starts[0], starts[1])


def test_an_ensemble_over_every_source_is_the_ensemble_of_before(data):
    everything = sn.EnsembleClassifier(mlp(), n_estimators=2, random_state=0)
    listed = sn.EnsembleClassifier(mlp(), n_estimators=2, random_state=0, vary=SOURCES)
    for ensemble in (everything, listed):
        quietly(ensemble.fit, *data)
    seeds = sn.estimators.ensemble.member_seeds(0, 2)
    assert [m.random_state for m in everything.estimators_] == seeds
    for a, b in zip(everything.estimators_, listed.estimators_, strict=True):
        np.testing.assert_array_equal(a.parameters_, b.parameters_)


def test_an_ensemble_with_vary_saves_and_loads(data, tmp_path):
    ensemble = sn.EnsembleClassifier(mlp(), n_estimators=2, random_state=0, vary="dropout")
    quietly(ensemble.fit, *data)
    snio.save(ensemble, tmp_path / "e.npz")
    loaded = snio.load(tmp_path / "e.npz")
    assert loaded.vary == "dropout"
    np.testing.assert_array_equal(loaded.predict_proba(data[0]), ensemble.predict_proba(data[0]))
    assert deepcopy(loaded).get_params()["vary"] == "dropout"


@pytest.mark.parametrize(
    ("vary", "message"), [(("dropot",), "'vary' parameter"), ((), "'vary' parameter"), (3, "vary")]
)
def test_bad_vary_is_named(vary, message, data):
    with pytest.raises(ValueError, match=message):
        quietly(sn.EnsembleClassifier(mlp(), n_estimators=2, vary=vary).fit, *data)


def test_vary_needs_members_with_per_source_seeds(data):
    from sklearn.neural_network import MLPClassifier

    ensemble = sn.EnsembleClassifier(MLPClassifier((4,)), n_estimators=2, vary=("init",))
    with pytest.raises(ValueError, match="per-source seeds"):
        quietly(ensemble.fit, *data)


# ------------------------------------------------- files of the version before
DATA = __import__("pathlib").Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["mlp", "attention"])
def test_files_written_before_per_source_seeds_load_and_train_on(name):
    """Written by the code of 5f03178 (one key for every source): they predict as they
    did and a partial_fit continues to the bits that code computed."""
    expected = np.load(DATA / "before_per_source_seeds_expected.npz")
    model = snio.load(DATA / f"{name}_before_per_source_seeds.npz")
    X, y = expected["X"], expected["y"]
    np.testing.assert_array_equal(model.predict_proba(X), expected[f"{name}_proba"])
    assert len(set(model._keys.values())) == 1
    quietly(model.partial_fit, X, y)
    np.testing.assert_array_equal(model.parameters_, expected[f"{name}_after_partial_fit"])
