"""Label binarizers learnt once per set of labels (``estimators._labels``)."""

import numpy as np
import pytest
from sklearn.preprocessing import LabelBinarizer

import stochnet as sn
from stochnet.estimators import _labels
from stochnet.estimators._labels import fitted_label_binarizer

RNG = np.random.default_rng(0)
LABELS = {
    "int64 multiclass": RNG.integers(0, 5, 60),
    "int32 multiclass": RNG.integers(0, 5, 60).astype(np.int32),
    "binary strings": np.array(["no", "yes"] * 30),
    "booleans": RNG.integers(0, 2, 60).astype(bool),
    "float classes": RNG.integers(0, 3, 60).astype(float),
    "one class": np.full(60, 7),
    "multilabel": RNG.integers(0, 2, (60, 3)),
    "objects": np.array(["a", "c", "b"] * 20, dtype=object),
}


def _state(binarizer):
    return {
        "params": binarizer.get_params(),
        "y_type_": binarizer.y_type_,
        "sparse_input_": binarizer.sparse_input_,
        "classes_": (binarizer.classes_.dtype, binarizer.classes_.tolist()),
    }


@pytest.mark.parametrize("name", sorted(LABELS))
def test_equals_a_fresh_fit_every_time(name):
    y = LABELS[name]
    expected = _state(LabelBinarizer().fit(y))
    first, second = fitted_label_binarizer(y), fitted_label_binarizer(y.copy())
    assert _state(first) == expected
    assert _state(second) == expected
    assert second is not first and second.classes_ is not first.classes_
    second.classes_[0] = second.classes_[-1]  # a copy: the next fit is unaffected
    assert _state(fitted_label_binarizer(y)) == expected


def test_labels_equal_in_value_but_not_in_dtype_learn_their_own_classes():
    y = np.array([0, 1, 2, 1, 0])
    as_int64 = fitted_label_binarizer(y.astype(np.int64))
    as_float = fitted_label_binarizer(y.astype(np.float64))
    assert as_int64.classes_.dtype == np.int64
    assert as_float.classes_.dtype == np.float64


def test_labels_changed_in_place_are_learnt_again():
    y = np.array([0, 1, 2, 1, 0])
    assert fitted_label_binarizer(y).classes_.tolist() == [0, 1, 2]
    y[0] = 5
    assert fitted_label_binarizer(y).classes_.tolist() == [0, 1, 2, 5]


def test_remembers_only_the_most_recent_sets():
    for n_classes in range(2, 3 + _labels.RECENT):
        fitted_label_binarizer(np.arange(10) % n_classes)
    assert len(_labels._recent) == _labels.RECENT
    remembered = {len(np.unique(labels)) for labels, _ in _labels._recent}
    assert 2 not in remembered


def test_classifier_refits_learn_the_same_classes():
    X = RNG.normal(size=(60, 4))
    y = LABELS["binary strings"]
    models = [sn.MLPClassifier((4,), max_iter=3, random_state=s).fit(X, y) for s in range(2)]
    for model in models:
        assert model.classes_.tolist() == ["no", "yes"]
        assert _state(model._label_binarizer) == _state(LabelBinarizer().fit(y))
    assert models[0]._label_binarizer is not models[1]._label_binarizer


def test_large_label_arrays_are_not_remembered(monkeypatch):
    monkeypatch.setattr(_labels, "MAX_BYTES", 100)
    y = np.arange(20) % 3  # 160 bytes
    before = [id(entry) for entry in _labels._recent]
    assert fitted_label_binarizer(y).classes_.tolist() == [0, 1, 2]
    assert [id(entry) for entry in _labels._recent] == before
