"""Unusual but valid inputs and calls (issue #17's probes): each once crashed or misled."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

import stochnet as sn

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 4))


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_single_class_is_predicted(early_stopping):
    clf = sn.MLPClassifier((5,), max_iter=5, early_stopping=early_stopping, random_state=0)
    clf.fit(X, np.full(40, 7))
    np.testing.assert_array_equal(clf.predict(X[:3]), [7, 7, 7])
    assert clf.classes_.tolist() == [7]
    assert clf.score(X, np.full(40, 7)) == 1.0


def test_a_diverged_fit_has_complete_fitted_attributes():
    reg = sn.MLPRegressor(
        hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.1, max_iter=5, random_state=0
    )
    with pytest.warns(ConvergenceWarning, match="diverged at epoch 1"):
        reg.fit(X, X[:, 0] * 1e300)
    assert reg.n_iter_ == 1
    assert reg.loss_ == np.inf
    assert reg.loss_curve_ == [np.inf]
    assert np.all(np.isfinite(reg.parameters_))  # the initial parameters, restored


@pytest.mark.parametrize("base", [LogisticRegression(), SkMLPClassifier((4,), max_iter=20)])
def test_ensembles_of_scikit_learn_estimators_get_seeds_they_accept(base):
    y = (X[:, 0] > 0).astype(int)
    ens = sn.EnsembleClassifier(base, n_estimators=3, random_state=0).fit(X, y)
    seeds = [m.random_state for m in ens.estimators_]
    assert all(0 <= s <= 2**32 - 1 for s in seeds) and len(set(seeds)) == 3
    assert ens.predict(X).shape == (40,)
    mine = sn.EnsembleClassifier(
        sn.MLPClassifier((4,), max_iter=5), n_estimators=2, random_state=0
    ).fit(X, y)
    assert max(m.random_state for m in mine.estimators_) >= 2**32  # stochnet: 63 bits


def test_a_model_fitted_on_a_dataframe_saves_and_loads(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = sn.MLPClassifier((4,), max_iter=5, random_state=0).fit(frame, X[:, 0] > 0)
    sn.io.save(clf, tmp_path / "m.npz")
    loaded = sn.io.load(tmp_path / "m.npz")
    assert loaded.feature_names_in_.dtype == object
    assert loaded.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(loaded.predict_proba(frame), clf.predict_proba(frame))


def test_ensemble_classifier_on_multilabel_targets():
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 0], axis=1).astype(int)
    ens = sn.EnsembleClassifier(
        sn.MLPClassifier((16,), max_iter=200), n_estimators=2, random_state=0
    ).fit(X, Y)
    assert ens.predict(X).shape == (40, 3)
    assert set(np.unique(ens.predict(X))) <= {0, 1}
    assert ens.score(X, Y) > 0.5  # subset accuracy, as ClassifierMixin scores multilabel
    result = ens.predict_uncertainty(X)
    assert result.total.shape == result.epistemic.shape == (40, 3)
    np.testing.assert_allclose(result.total, result.aleatoric + result.epistemic, atol=1e-12)
    assert np.all(result.total <= np.log(2) + 1e-12)  # one Bernoulli per label


@pytest.mark.parametrize("method", ["magnitude", "random"])
def test_pruning_again_never_unprunes(method):
    y = (X[:, 0] > 0).astype(int)
    clf = sn.MLPClassifier((16,), max_iter=20, random_state=0).fit(X, y)
    clf.prune_weights(0.5, method=method)
    first = [m.copy() for m in clf.masks_]
    clf.prune_weights(0.2, method=method)
    assert clf.sparsity_ == pytest.approx(0.5, abs=0.02)
    for before, after in zip(first, clf.masks_, strict=True):
        assert not np.any(after & ~before)  # nothing pruned came back
    clf.set_params(warm_start=True).fit(X, y)
    for w, m in zip(clf.coefs_, clf.masks_, strict=True):
        assert np.all(w[~m] == 0)
    clf.prune_weights(0.7, method=method)
    assert clf.sparsity_ == pytest.approx(0.7, abs=0.02)


def test_a_changed_architecture_under_warm_start_is_an_error():
    y = (X[:, 0] > 0).astype(int)
    clf = sn.MLPClassifier((5,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes=\(7, 3\) does not match .*\(5,\)"):
        clf.set_params(hidden_layer_sizes=(7, 3)).fit(X, y)
    with pytest.raises(ValueError, match="activation='tanh' does not match"):
        clf.set_params(hidden_layer_sizes=(5,), activation="tanh").partial_fit(X, y)
    att = sn.AttentionClassifier(
        d_model=8, n_heads=2, d_ff=8, max_iter=2, warm_start=True, random_state=0
    ).fit(X, y)
    with pytest.raises(ValueError, match="d_model=16 does not match the fitted network's 8"):
        att.set_params(d_model=16).fit(X, y)


def test_pad_sequences_with_an_integer_dtype_needs_a_value_it_holds():
    with pytest.raises(ValueError, match="padding_value=nan cannot be stored in dtype int64"):
        sn.pad_sequences([[1, 2], [3]], dtype=np.int64)
    with pytest.raises(ValueError, match="cannot be stored in dtype uint8"):
        sn.pad_sequences([[1, 2], [3]], dtype=np.uint8, padding_value=-1)
    padded = sn.pad_sequences([[1, 2], [3]], dtype=np.int64, padding_value=-1)
    np.testing.assert_array_equal(padded[:, :, 0], [[1, 2], [3, -1]])


def test_non_integer_hidden_layer_sizes_are_named_as_such():
    with pytest.raises(ValueError, match="hidden_layer_sizes must be integers"):
        sn.MLPClassifier((3.5,)).fit(X, X[:, 0] > 0)


def test_weights_that_never_end_an_epoch_finite_raise():
    huge = np.finfo(np.float64).max * np.random.default_rng(0).uniform(size=(10, 2))
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        sn.MLPRegressor().fit(huge, np.arange(10.0))


def test_a_diverging_fit_with_early_stopping_scores_nan_and_finishes():
    from sklearn.datasets import load_iris

    X_iris, y_iris = load_iris(return_X_y=True)
    reg = sn.MLPRegressor(
        hidden_layer_sizes=100,
        activation="identity",
        solver="sgd",
        learning_rate_init=1,
        max_iter=20,
        early_stopping=True,
        n_iter_no_change=10,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        reg.fit(X_iris, y_iris)
    assert np.all(np.isfinite(reg.parameters_))


def test_the_early_stopping_split_of_a_binary_classifier_is_stratified():
    clf = sn.MLPClassifier(early_stopping=True)
    with pytest.raises(ValueError, match=r"Classes with too few members are: \['True'\]"):
        clf.fit([[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("y", [np.arange(40) % 3, np.arange(40) % 2])
def test_the_reported_log_loss_is_clipped_as_scikit_learns(dtype, y):
    """Logits of ~1e30: scikit-learn clips p to [eps, 1 - eps] when it reports the loss
    (≈ -log(eps) per sample at worst); stochnet reported ~1e29 before."""
    cap = -np.log(np.finfo(dtype).eps)
    clf = sn.MLPClassifier((5,), max_iter=1, random_state=0)
    clf.fit((X * 1e30).astype(dtype), y)
    assert 0 < clf.loss_ <= cap + 1e-6 * cap


@pytest.mark.parametrize("cls", [sn.MLPClassifier, sn.AttentionClassifier])
def test_threads_that_predict_at_once_get_the_serial_answer(cls):
    """Dask's threaded scheduler and joblib's threading backend call predict from
    several threads at once: each thread needs its own scratch memory (once shared)."""
    from concurrent.futures import ThreadPoolExecutor

    X_big = np.random.default_rng(1).normal(size=(2000, 4))
    y = (X_big[:, 0] > 0).astype(int)
    params = {"d_model": 8, "n_heads": 2, "d_ff": 8} if cls is sn.AttentionClassifier else {}
    model = cls(max_iter=2, random_state=0, **params).fit(X_big[:200], y[:200])
    serial = model.predict_proba(X_big)
    for _ in range(10):
        with ThreadPoolExecutor(4) as pool:
            parts = list(pool.map(model.predict_proba, np.array_split(X_big, 4)))
        np.testing.assert_array_equal(np.vstack(parts), serial)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_model_loaded_read_only_predicts_trains_and_prunes(tmp_path, solver):
    joblib = pytest.importorskip("joblib")
    y = (X[:, 0] > 0).astype(int)
    clf = sn.MLPClassifier((6,), solver=solver, max_iter=3, random_state=0).fit(X, y)
    joblib.dump(clf, tmp_path / "m.joblib")
    saved = clf.parameters_.copy()
    mapped = joblib.load(tmp_path / "m.joblib", mmap_mode="r")  # a model shared by servers
    copy = joblib.load(tmp_path / "m.joblib")
    assert not mapped._network.theta.flags.writeable
    np.testing.assert_array_equal(mapped.predict_proba(X), clf.predict_proba(X))
    for model in (mapped, copy):  # once a Numba typing error on the read-only parameters
        model.set_params(warm_start=True).fit(X, y)
        model.prune_weights(0.5)
    np.testing.assert_array_equal(mapped.parameters_, copy.parameters_)
    np.testing.assert_array_equal(mapped.coefs_[0], copy.coefs_[0])  # views of the new copy
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").parameters_, saved)


def test_read_only_input_uses_the_kernels_of_writable_input():
    from stochnet.kernels.cpu import encoder, epoch, mlp

    kernels = (epoch.train_batches, epoch.train_encoder_batches, mlp.predict_rows,
               encoder.predict_rows)  # fmt: skip
    y = (X[:, 0] > 0).astype(int)
    frozen = X.copy()
    frozen.flags.writeable = False  # e.g. a memmap, or a joblib worker's argument
    kinds = [
        sn.MLPClassifier((6,), dropout=0.2, max_iter=2, random_state=0),
        sn.AttentionClassifier(d_model=8, n_heads=2, d_ff=8, max_iter=2, random_state=0),
    ]
    for make in kinds:
        writable = clone(make).fit(X, y)
        probabilities = writable.predict_proba(X)
        specialisations = [len(k.signatures) for k in kernels]
        read_only = clone(make).fit(frozen, y)
        np.testing.assert_array_equal(read_only.predict_proba(frozen), probabilities)
        assert [len(k.signatures) for k in kernels] == specialisations
