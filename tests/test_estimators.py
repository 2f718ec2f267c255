"""MLPClassifier / MLPRegressor: scikit-learn parity, ecosystem and added features."""

import io
import pickle
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from sklearn import neural_network
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import stochnet as sn

RNG = np.random.default_rng(0)


def _classification(kind, n=150):
    if kind == "multilabel":
        X, y = make_multilabel_classification(
            n_samples=n, n_features=6, n_classes=3, random_state=0
        )
    else:
        X, y = make_classification(
            n_samples=n,
            n_features=6,
            n_informative=4,
            n_classes=2 if kind == "binary" else 3,
            random_state=0,
        )
    return StandardScaler().fit_transform(X), y


def _regression(n_outputs, n=150):
    X = RNG.normal(size=(n, 5))
    W = RNG.normal(size=(5, n_outputs))
    y = np.tanh(X @ W) + 0.1 * RNG.normal(size=(n, n_outputs))
    return X, y.ravel() if n_outputs == 1 else y


def _same_start_then_fit(ours, theirs, X, y, epochs):
    """Give both the same initial weights (warm start), then train ``epochs`` epochs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.set_params(warm_start=True, max_iter=1).fit(X, y)
        ours.set_params(warm_start=True, max_iter=1).fit(X, y)
        ours.coefs_ = [c.copy() for c in theirs.coefs_]
        ours.intercepts_ = [b.copy() for b in theirs.intercepts_]
        theirs.set_params(max_iter=epochs).fit(X, y)
        ours.set_params(max_iter=epochs).fit(X, y)


def _assert_same_parameters(ours, theirs):
    pairs = zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True)
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12)


PARITY = dict(hidden_layer_sizes=(7, 5), alpha=0.01, batch_size=32, shuffle=False, tol=0.0)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_classifier_equals_scikit_learn(solver, kind, activation):
    X, y = _classification(kind)
    params = dict(PARITY, solver=solver, activation=activation, learning_rate_init=0.01)
    ours = sn.MLPClassifier(**params, random_state=0)
    theirs = neural_network.MLPClassifier(**params, random_state=0)
    _same_start_then_fit(ours, theirs, X, y, epochs=5)
    _assert_same_parameters(ours, theirs)
    # Entry 0 is the warm-up epoch, which started from each library's own init.
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-6)
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("learning_rate", ["constant", "invscaling"])
def test_regressor_equals_scikit_learn(solver, n_outputs, learning_rate):
    X, y = _regression(n_outputs)
    params = dict(PARITY, solver=solver, learning_rate=learning_rate, learning_rate_init=0.01)
    ours = sn.MLPRegressor(**params, random_state=0)
    theirs = neural_network.MLPRegressor(**params, random_state=0)
    _same_start_then_fit(ours, theirs, X, y, epochs=5)
    _assert_same_parameters(ours, theirs)
    # Entry 0 is the warm-up epoch, which started from each library's own init.
    np.testing.assert_allclose(ours.loss_curve_[1:], theirs.loss_curve_[1:], rtol=1e-6)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6, atol=1e-12)


def test_poisson_regressor_equals_scikit_learn():
    X = RNG.normal(size=(120, 4))
    y = RNG.poisson(np.exp(0.5 * X[:, 0]))
    params = dict(PARITY, solver="adam", loss="poisson", learning_rate_init=0.01)
    ours = sn.MLPRegressor(**params, random_state=0)
    theirs = neural_network.MLPRegressor(**params, random_state=0)
    _same_start_then_fit(ours, theirs, X, y, epochs=4)
    _assert_same_parameters(ours, theirs)


def test_sample_weights_match_scikit_learn():
    X, y = _classification("multiclass")
    sw = RNG.uniform(0.2, 3.0, X.shape[0])
    params = dict(PARITY, solver="adam", learning_rate_init=0.01)
    ours = sn.MLPClassifier(**params, random_state=0)
    theirs = neural_network.MLPClassifier(**params, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.set_params(warm_start=True, max_iter=1).fit(X, y, sample_weight=sw)
        ours.set_params(warm_start=True, max_iter=1).fit(X, y, sample_weight=sw)
        ours.coefs_ = [c.copy() for c in theirs.coefs_]
        ours.intercepts_ = [b.copy() for b in theirs.intercepts_]
        theirs.set_params(max_iter=3).fit(X, y, sample_weight=sw)
        ours.set_params(max_iter=3).fit(X, y, sample_weight=sw)
    _assert_same_parameters(ours, theirs)


def test_fitted_attributes_have_scikit_learns_shapes():
    X, y = _classification("multiclass")
    ours = sn.MLPClassifier((8, 4), max_iter=20, random_state=0).fit(X, y)
    theirs = neural_network.MLPClassifier((8, 4), max_iter=20, random_state=0).fit(X, y)
    for name in ("n_layers_", "n_outputs_", "out_activation_", "n_features_in_", "n_iter_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert len(ours.loss_curve_) == ours.n_iter_ and ours.best_loss_ == min(ours.loss_curve_)
    assert ours.validation_scores_ is None and ours.best_validation_score_ is None


def test_coefs_are_live_views():
    X, y = _classification("binary")
    clf = sn.MLPClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    clf.coefs_[1][...] = 0.0
    clf.intercepts_[1][...] = 10.0
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-10.0)))
    assert np.shares_memory(clf.coefs_[0], clf.parameters_)


def test_digits_accuracy_close_to_scikit_learn():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = cross_val_score(sn.MLPClassifier(random_state=0, max_iter=60), X, y, cv=3).mean()
        theirs = cross_val_score(
            neural_network.MLPClassifier(random_state=0, max_iter=60), X, y, cv=3
        ).mean()
    assert ours > theirs - 0.01


def test_float32_stays_float32():
    X, y = _classification("multiclass")
    clf = sn.MLPClassifier((8,), max_iter=10, random_state=0).fit(X.astype(np.float32), y)
    assert clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_pipeline_grid_search_clone_and_pickle():
    X, y = _classification("multiclass")
    pipe = make_pipeline(StandardScaler(), sn.MLPClassifier(max_iter=30, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__dropout": [0.0, 0.2]}, cv=2).fit(X, y)
    assert grid.best_score_ > 0.5
    est = grid.best_estimator_[-1]
    copy = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(copy.predict_proba(X), est.predict_proba(X))
    copy.coefs_[0][...] = 0.0  # views survive unpickling
    assert np.all(copy.parameters_[: copy.coefs_[0].size] == 0.0)
    assert clone(est).get_params() == est.get_params()


def test_same_random_state_gives_identical_models():
    X, y = _classification("multiclass")
    a = sn.MLPClassifier((16,), dropout=0.3, input_noise=0.1, max_iter=10, random_state=3).fit(X, y)
    b = sn.MLPClassifier((16,), dropout=0.3, input_noise=0.1, max_iter=10, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.parameters_, b.parameters_)


def test_dropout_does_not_change_the_initial_weights():
    X, y = _classification("multiclass")
    a = sn.MLPClassifier((16,), max_iter=1, random_state=1)
    b = sn.MLPClassifier((16,), dropout=0.5, max_iter=1, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.loss_and_grad(X, y)
        b.loss_and_grad(X, y)
    np.testing.assert_array_equal(a.parameters_, b.parameters_)


def test_early_stopping_records_validation_curves():
    X, y = _classification("multiclass", n=300)
    clf = sn.MLPClassifier((16,), early_stopping=True, max_iter=50, random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None


def test_gaussian_nll_predicts_a_standard_deviation():
    x = np.linspace(-3, 3, 600)
    sigma = 0.1 + 0.3 * (x > 0)
    y = np.sin(x) + sigma * RNG.standard_normal(x.size)
    reg = sn.MLPRegressor(
        hidden_layer_sizes=(32, 32),
        loss="gaussian_nll",
        learning_rate_init=0.01,
        max_iter=300,
        random_state=0,
    ).fit(x[:, None], y)
    mean, std = reg.predict(x[:, None], return_std=True)
    assert np.abs(mean - np.sin(x)).mean() < 0.15
    assert np.median(std[x < -0.5]) == pytest.approx(0.1, rel=0.35)
    assert np.median(std[x > 0.5]) == pytest.approx(0.4, rel=0.35)
    with pytest.raises(ValueError, match="gaussian_nll"):
        sn.MLPRegressor(max_iter=5).fit(x[:, None], y).predict(x[:, None], return_std=True)


def test_mc_dropout_uncertainty_is_deterministic_and_decomposes():
    X, y = _classification("multiclass")
    clf = sn.MLPClassifier((32,), dropout=0.3, max_iter=30, random_state=0).fit(X, y)
    a = clf.predict_uncertainty(X, mc_samples=10, random_state=5, return_samples=True)
    b = clf.predict_uncertainty(X, mc_samples=10, random_state=5)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_allclose(a.total, a.aleatoric + a.epistemic, atol=1e-12)
    assert np.all(a.epistemic > -1e-12) and a.epistemic.max() > 0
    assert a.samples.shape == (10, X.shape[0], 3)
    c = clf.predict_uncertainty(X, mc_samples=10, random_state=6)
    assert not np.array_equal(a.mean, c.mean)
    plain = sn.MLPClassifier((32,), max_iter=30, random_state=0).fit(X, y)
    np.testing.assert_allclose(plain.predict_uncertainty(X, mc_samples=3).epistemic, 0, atol=1e-12)


def test_regression_mc_dropout_uses_the_law_of_total_variance():
    X, y = _regression(1)
    reg = sn.MLPRegressor(
        hidden_layer_sizes=(32,), loss="gaussian_nll", dropout=0.2, max_iter=30, random_state=0
    )
    r = reg.fit(X, y).predict_uncertainty(X[:20], mc_samples=8, random_state=0)
    np.testing.assert_allclose(r.total, r.aleatoric + r.epistemic)
    assert r.mean.shape == (20,) and np.all(r.aleatoric > 0)


def test_partial_fit_needs_classes_first():
    X, y = _classification("multiclass")
    clf = sn.MLPClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 and clf.t_ == 2 * X.shape[0]  # scikit-learn's counting
    lbfgs = sn.MLPClassifier(solver="lbfgs")
    assert not hasattr(lbfgs, "partial_fit")  # available_if, as scikit-learn's
    with pytest.raises(AttributeError, match="partial_fit") as error:
        lbfgs.partial_fit(X, y, classes=[0, 1, 2])
    assert "only available for stochastic solvers" in str(error.value.__cause__)


def test_warm_start_continues_the_random_streams():
    X, y = _classification("multiclass")
    clf = sn.MLPClassifier((8,), dropout=0.2, warm_start=True, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        step = clf._trainer.step
        clf.fit(X, y)
    assert clf._trainer.step == 2 * step and clf.t_ == 4 * X.shape[0]


def test_verbose_prints_one_line_per_epoch():
    X, y = _classification("binary")
    out = io.StringIO()
    with redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sn.MLPClassifier((4,), max_iter=3, verbose=True, early_stopping=True, random_state=0).fit(
            X, y
        )
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith("Iteration 1, loss = ")
    assert "validation score" in lines[0] and lines[0].endswith("s")


def test_divergence_restores_the_last_finite_parameters():
    X, _ = _classification("multiclass")
    reg = sn.MLPRegressor(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=1e3,
        momentum=0.0,
        max_iter=50,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="diverged at epoch"):
        reg.fit(X, 10 * X[:, 0])
    assert 0 < reg.n_iter_ < 50
    assert np.all(np.isfinite(reg.parameters_))
    assert np.all(np.isfinite(reg.predict(X)))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
        (dict(activation="swish"), "activation"),
        (dict(solver="rmsprop"), "solver"),
        (dict(alpha=-1.0), "alpha"),
        (dict(batch_size=0), "batch_size"),
        (dict(learning_rate_init=0.0), "learning_rate_init"),
        (dict(max_iter=0), "max_iter"),
        (dict(momentum=1.5), "momentum"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(dropout=1.0), "dropout"),
        (dict(dropout=(0.1, 0.2)), "dropout"),
        (dict(input_noise=-0.1), "input_noise"),
        (dict(init="xavier"), "init"),
        (dict(l1=-1.0), "l1"),
        (dict(device="tpu"), "device"),
        (dict(solver="lbfgs", dropout=0.1), "lbfgs"),
        (dict(shuffle="yes"), "shuffle"),
    ],
)
def test_bad_parameters_name_the_parameter(params, match):
    X, y = _classification("binary")
    with pytest.raises(ValueError, match=match):
        sn.MLPClassifier(**params).fit(X, y)


def test_cuda_device_without_gpu_is_a_clear_runtime_error():
    X, y = _classification("binary")
    with pytest.raises(RuntimeError, match="cuda"):
        sn.MLPClassifier(device="cuda").fit(X, y)
    sn.MLPClassifier((4,), device="auto", max_iter=2).fit(X, y)


def test_bad_data_gets_scikit_learns_errors():
    X, y = _classification("binary")
    clf = sn.MLPClassifier((4,), max_iter=2)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(Xn, y)
    with pytest.raises(ValueError, match="0 sample"):
        clf.fit(X[:0], y[:0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="negative"):
        sn.MLPRegressor(loss="poisson").fit(X, -np.ones(len(X)))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_gives_the_dense_model(fmt):
    import scipy.sparse

    X, y = _classification("multiclass")
    X[np.abs(X) < 0.8] = 0.0  # about half the entries
    Xs = scipy.sparse.csr_matrix(X) if fmt == "csr" else scipy.sparse.csc_matrix(X)
    params = dict(hidden_layer_sizes=(8,), dropout=0.1, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = sn.MLPClassifier(**params).fit(X, y)
        sparse = sn.MLPClassifier(**params).fit(Xs, y)
    np.testing.assert_allclose(sparse.parameters_, dense.parameters_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(sparse.predict_proba(Xs), dense.predict_proba(X), rtol=1e-10)
    with pytest.raises(ValueError, match="input_noise"):
        sn.MLPClassifier(input_noise=0.1).fit(Xs, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fast_predict_path_agrees_with_full_validation(n_classes):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5)).astype(np.float32)
    y = np.array(["a", "b", "c"])[rng.integers(0, n_classes, 60)]
    clf = sn.MLPClassifier((8,), max_iter=20, random_state=0).fit(X, y)
    expected = clf.predict_proba(X.tolist())  # a list always takes the full path
    for variant in (X, X.astype(np.float64), np.asfortranarray(X), X[::1].copy()):
        variant.flags.writeable = False
        np.testing.assert_array_equal(clf.predict_proba(variant), expected)
        np.testing.assert_array_equal(clf.predict(variant), clf.classes_[expected.argmax(1)])
    for bad, match in (
        (X[:, :4], "features"),
        (X[:0], "0 sample"),
        (np.full_like(X, np.nan), "NaN"),
    ):
        with pytest.raises(ValueError, match=match):
            clf.predict(bad)


@pytest.mark.parametrize(
    "y",
    [
        np.arange(60) % 7,
        np.array(["cat", "ant", "bee"] * 20),
        np.arange(60) % 2,  # binary: one column, scikit-learn's transform
    ],
)
def test_targets_encode_as_label_binarizer_does(y):
    from sklearn.preprocessing import LabelBinarizer

    X = np.random.default_rng(0).normal(size=(y.shape[0], 3)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = sn.MLPClassifier((4,), max_iter=1).fit(X, y)
    _, Y = clf._network_data(X, y)
    expected = LabelBinarizer().fit(y).transform(y).astype(np.float32)
    assert Y.dtype == np.float32
    np.testing.assert_array_equal(Y, expected)
