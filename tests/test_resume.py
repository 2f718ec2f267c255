"""Saving mid-training and continuing: the same bits as never having stopped."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import stochnet as sn
from stochnet import io as snio

from .conftest import toy_problem

X, y_class, y_reg = toy_problem(120)

CASES = {
    "adam, dropout, noise": (
        sn.MLPClassifier,
        dict(hidden_layer_sizes=(16,), dropout=0.2, input_noise=0.1),
        y_class,
    ),
    "sgd, momentum, invscaling": (
        sn.MLPClassifier,
        dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate="invscaling",
             learning_rate_init=0.05),
        y_class,
    ),
    "sgd, adaptive": (
        sn.MLPRegressor,
        dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate="adaptive", tol=1e-2,
             n_iter_no_change=1, learning_rate_init=0.01),
        y_reg,
    ),
    "crops": (
        sn.MLPClassifier,
        dict(hidden_layer_sizes=(8,), augment=sn.RandomCrop(2, padding=1, image_shape=(2, 3))),
        y_class,
    ),
    "attention": (
        sn.AttentionClassifier,
        dict(d_model=8, n_heads=2, d_ff=8, dropout=0.1),
        y_class,
    ),
    "attention regressor": (
        sn.AttentionRegressor,
        dict(d_model=8, n_heads=2, d_ff=8, attention_dropout=0.1),
        y_reg,
    ),
}  # fmt: skip


def _partial_fits(model, y, calls):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(calls):
            model.partial_fit(X, y, **({"classes": np.unique(y)} if y is y_class else {}))
    return model


@pytest.mark.parametrize("case", sorted(CASES))
def test_partial_fit_after_load_continues_bit_for_bit(case, tmp_path):
    cls, params, y = CASES[case]
    straight = _partial_fits(cls(random_state=0, batch_size=32, **params), y, 6)
    first = _partial_fits(cls(random_state=0, batch_size=32, **params), y, 2)
    snio.save(first, tmp_path / "m.npz")
    resumed = _partial_fits(snio.load(tmp_path / "m.npz"), y, 4)
    np.testing.assert_array_equal(resumed.parameters_, straight.parameters_)
    assert resumed.t_ == straight.t_
    assert resumed.loss_ == straight.loss_


@pytest.mark.parametrize("early_stopping", [False, True])
def test_warm_start_after_load_equals_warm_start_in_memory(early_stopping, tmp_path):
    """scikit-learn's rule: a warm-start fit re-creates the optimiser; the random
    streams and the early-stopping state go on."""
    params = dict(
        hidden_layer_sizes=(16,),
        dropout=0.1,
        max_iter=4,
        random_state=0,
        early_stopping=early_stopping,
        validation_fraction=0.2,
        warm_start=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sn.MLPClassifier(**params).fit(X, y_class)
        snio.save(model, tmp_path / "m.npz")
        loaded = snio.load(tmp_path / "m.npz")
        model.fit(X, y_class)
        loaded.fit(X, y_class)
    np.testing.assert_array_equal(loaded.parameters_, model.parameters_)
    assert loaded.loss_curve_ == model.loss_curve_
    if early_stopping:
        assert loaded.validation_scores_ == model.validation_scores_
        assert loaded.best_validation_score_ == model.best_validation_score_


def test_an_ensemble_continues_after_load(tmp_path):
    base = sn.MLPClassifier((8,), dropout=0.1, max_iter=3, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens = sn.EnsembleClassifier(base, n_estimators=2, random_state=0).fit(X, y_class)
        snio.save(ens, tmp_path / "e.npz")
        loaded = snio.load(tmp_path / "e.npz")
        for a, b in zip(ens.estimators_, loaded.estimators_, strict=True):
            a.partial_fit(X, y_class)
            b.partial_fit(X, y_class)
            np.testing.assert_array_equal(a.parameters_, b.parameters_)


def test_resume_in_a_new_process(tmp_path):
    """Five partial fits, save, load in a new process, seven more: the twelve in one go."""
    params = "hidden_layer_sizes=(16,), dropout=0.2, input_noise=0.1, random_state=0"
    script = f"""
import sys, warnings
import numpy as np
import stochnet as sn
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.normal(size=(120, 6))
y = (X[:, 0] > 0).astype(int)
if sys.argv[1] == "start":
    m = sn.MLPClassifier({params})
    for _ in range(5):
        m.partial_fit(X, y, classes=[0, 1])
    sn.io.save(m, sys.argv[2])
else:
    m = sn.io.load(sys.argv[2])
    for _ in range(7):
        m.partial_fit(X, y)
    np.save(sys.argv[3], m.parameters_)
"""
    path = str(tmp_path / "m.npz")
    subprocess.run([sys.executable, "-c", script, "start", path], check=True)
    subprocess.run(
        [sys.executable, "-c", script, "go on", path, str(tmp_path / "p.npy")], check=True
    )
    X_ = np.random.default_rng(0).normal(size=(120, 6))
    y_ = (X_[:, 0] > 0).astype(int)
    straight = sn.MLPClassifier(
        hidden_layer_sizes=(16,), dropout=0.2, input_noise=0.1, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight.partial_fit(X_, y_, classes=[0, 1])
        for _ in range(11):
            straight.partial_fit(X_, y_)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), straight.parameters_)


def test_a_corrupt_trainer_is_rejected(tmp_path):
    import json
    import zipfile

    model = _partial_fits(sn.MLPClassifier((4,), random_state=0), y_class, 1)
    snio.save(model, tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(members["header.json"])
    trainer = header["estimator"]["state"]["__dict__"]["_trainer"]["__trainer__"]["__dict__"]
    for key, bad in (("step", -1), ("optimizer", "RMSprop"), ("epoch", 1.5)):
        broken = json.loads(json.dumps(header))
        node = broken["estimator"]["state"]["__dict__"]["_trainer"]["__trainer__"]["__dict__"]
        node[key] = bad
        with zipfile.ZipFile(tmp_path / "bad.npz", "w") as archive:
            for name, data in members.items():
                archive.writestr(name, json.dumps(broken) if name == "header.json" else data)
        with pytest.raises(ValueError, match="trainer"):
            snio.load(tmp_path / "bad.npz")
    assert trainer["optimizer"] == "Adam"
