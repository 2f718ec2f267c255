"""A fit on plain arrays skips scikit-learn's generic validation (``_inputs``'s fast
path): the fitted model, its attributes and its errors are those of the full path."""

import warnings

import numpy as np
import pytest

import stochnet as sn
from stochnet.estimators import _inputs

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 5))
LABELS = rng.integers(0, 3, size=60)


@pytest.fixture
def validations(monkeypatch):
    """The calls of scikit-learn's ``validate_data`` from the input adapters."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs.get("reset", True))
        return validate_data(*args, **kwargs)

    validate_data = _inputs.validate_data
    monkeypatch.setattr(_inputs, "validate_data", counted)
    return calls


def _full_path(monkeypatch):
    monkeypatch.setattr(_inputs, "_is_plain_training_data", lambda *args: False)


def _fitted(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


CASES = {
    "float64 labels": (sn.MLPClassifier, X, LABELS),
    "float32 labels": (sn.MLPClassifier, X.astype(np.float32), LABELS),
    "Fortran-ordered rows": (sn.MLPClassifier, np.asfortranarray(X), LABELS),
    "int32 labels": (sn.MLPClassifier, X, LABELS.astype(np.int32)),
    "boolean labels": (sn.MLPClassifier, X, LABELS > 0),
    "float labels": (sn.MLPClassifier, X, LABELS.astype(float)),
    "multilabel": (sn.MLPClassifier, X, np.stack([LABELS > 0, LABELS > 1], axis=1)),
    "regression": (sn.MLPRegressor, X, X[:, 0] - X[:, 1]),
    "two targets": (sn.MLPRegressor, X, X[:, :2]),
    "float32 regression": (sn.MLPRegressor, X.astype(np.float32), X[:, 0]),
    "attention": (sn.AttentionClassifier, X, LABELS),
}


def _make(cls):
    if cls is sn.AttentionClassifier:
        return cls(d_model=8, n_heads=2, n_layers=1, d_ff=8, max_iter=3, random_state=0)
    return cls(hidden_layer_sizes=(7,), max_iter=5, random_state=0)


@pytest.mark.parametrize("case", CASES)
def test_plain_arrays_fit_the_model_of_the_full_validation(case, validations, monkeypatch):
    cls, X_case, y_case = CASES[case]
    fast = _fitted(_make(cls), X_case, y_case)
    assert validations == []  # the fast path was taken
    _full_path(monkeypatch)
    full = _fitted(_make(cls), X_case, y_case)
    assert validations == [True]
    np.testing.assert_array_equal(fast.parameters_, full.parameters_)
    assert fast.parameters_.dtype == full.parameters_.dtype
    assert fast.n_features_in_ == full.n_features_in_ == X_case.shape[1]
    assert fast.loss_curve_ == full.loss_curve_
    np.testing.assert_array_equal(fast.predict(X_case), full.predict(X_case))
    if hasattr(full, "classes_"):
        np.testing.assert_array_equal(fast.classes_, full.classes_)
        assert fast.classes_.dtype == full.classes_.dtype


class _Rows(np.ndarray):
    pass


def test_other_inputs_take_the_full_validation(validations):
    y = np.array(["a", "b", "c"])[LABELS]
    for X_case, y_case in [
        (X.astype(np.int64), LABELS),  # converted to float
        (X.tolist(), LABELS),  # a list
        (X, y),  # string labels
        (X, LABELS.tolist()),
        (X.view(_Rows), LABELS),  # a subclass
    ]:
        before = len(validations)
        _fitted(_make(sn.MLPClassifier), X_case, y_case)
        assert len(validations) == before + 1


def test_a_refit_on_plain_arrays_forgets_the_feature_names():
    pd = pytest.importorskip("pandas")
    clf = _fitted(_make(sn.MLPClassifier), pd.DataFrame(X, columns=list("abcde")), LABELS)
    assert clf.feature_names_in_.tolist() == list("abcde")
    _fitted(clf, X[:, :4], LABELS)
    assert not hasattr(clf, "feature_names_in_")
    assert clf.n_features_in_ == 4


@pytest.mark.parametrize(
    "X_bad, y_bad, message",
    [
        (np.where(np.arange(5) == 2, np.nan, X), LABELS, "Input X contains NaN"),
        (np.where(np.arange(5) == 2, np.inf, X), LABELS, "Input X contains infinity"),
        (X, np.where(np.arange(60) == 3, np.nan, X[:, 0]), "Input y contains NaN"),
        (X, LABELS[:-1], "inconsistent numbers of samples"),
        (X[:, :0], LABELS, "0 feature"),
        (X[:0], LABELS[:0], "0 sample"),
    ],
)
def test_bad_plain_arrays_get_scikit_learns_errors(X_bad, y_bad, message):
    cls = sn.MLPRegressor if y_bad.dtype.kind == "f" else sn.MLPClassifier
    with pytest.raises(ValueError, match=message):
        _make(cls).fit(X_bad, y_bad)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_sum_that_overflows_is_not_taken_for_infinity(validations):
    big = np.full((20, 2), 1e307)
    big[0, 0] = 1e308
    assert not _inputs._is_finite(big)  # the sum overflowed, silently
    est = sn.MLPRegressor()
    X_checked, _ = _inputs.RowInput().validate(est, big, np.arange(20.0), None, True, True)
    assert validations == [True]  # the full path looked value by value, and let it pass
    np.testing.assert_array_equal(X_checked, big)
    assert est.n_features_in_ == 2
    model = sn.MLPRegressor(hidden_layer_sizes=(2,), max_iter=1).fit(X[:, :2], X[:, 0])
    assert model.predict(big).shape == (20,)  # prediction's fast path: the same check


def test_a_large_array_with_infinity_is_an_error(monkeypatch):
    monkeypatch.setattr(_inputs, "PARALLEL_CHECK_SIZE", 100)
    bad = X.copy()
    bad[-1, -1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        _make(sn.MLPClassifier).fit(bad, LABELS)
    assert _make(sn.MLPClassifier).fit(X, LABELS).n_features_in_ == 5


def test_partial_fit_checks_the_width_and_the_names(validations):
    clf = sn.MLPClassifier((4,), random_state=0).partial_fit(X, LABELS, classes=[0, 1, 2])
    clf.partial_fit(X, LABELS)
    assert validations == []
    with pytest.raises(ValueError, match="X has 4 features"):
        clf.partial_fit(X[:, :4], LABELS)
    pd = pytest.importorskip("pandas")
    named = sn.MLPClassifier((4,), random_state=0)
    named.partial_fit(pd.DataFrame(X, columns=list("abcde")), LABELS, classes=[0, 1, 2])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        named.partial_fit(X, LABELS)
