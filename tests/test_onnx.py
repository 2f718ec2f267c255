"""``io.to_onnx``: onnxruntime reproduces predict and predict_proba in float32."""

import warnings

import numpy as np
import pytest

import stochnet as sn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 6)).astype(np.float32)
y_class = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
y_reg = X[:, 0] - 2 * X[:, 3]
IMAGES = rng.normal(size=(100, 8, 8)).astype(np.float32)
y_images = (IMAGES[:, 2:5, 2:5].sum(axis=(1, 2)) > 0).astype(int)


def _sequences():
    """Sequences of 7 tokens × 3 features, NaN-padded to random lengths (some empty)."""
    seq = rng.normal(size=(120, 7, 3)).astype(np.float32)
    for row, length in enumerate(rng.integers(0, 8, 120)):
        seq[row, length:] = np.nan
    return seq, np.nan_to_num(seq[:, :, 0]).sum(axis=1)


SEQUENCES, y_sequences = _sequences()


def run(estimator, X_, dtype=np.float32):
    model = sn.io.to_onnx(estimator, dtype=dtype)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X_.astype(dtype)}), strict=True))


def fit(estimator, X_, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X_, y)


MLP = dict(hidden_layer_sizes=(16, 8), max_iter=30, random_state=0)
ATTENTION = dict(d_model=8, n_heads=2, d_ff=16, n_layers=2, max_iter=15, random_state=0)

CLASSIFIERS = {
    **{f"mlp {a}": (sn.MLPClassifier(activation=a, **MLP), X, y_class)
       for a in ("relu", "tanh", "logistic", "gelu", "softplus", "leaky_relu", "identity")},
    "mlp binary, text labels": (sn.MLPClassifier(**MLP), X, np.array(["no", "yes"])[y_class % 2]),
    "mlp multilabel": (sn.MLPClassifier(**MLP), X,
                       np.stack([y_class > 0, X[:, 3] > 0], axis=1).astype(int)),
    **{f"mlp crop {mode}": (sn.MLPClassifier(augment=sn.RandomCrop(6, padding=2,
                                                                   padding_mode=mode), **MLP),
                            IMAGES, y_images) for mode in ("constant", "reflect", "edge")},
    "attention tabular": (sn.AttentionClassifier(**ATTENTION), X, y_class),
    "attention sequences": (sn.AttentionClassifier(padding_value=np.nan, **ATTENTION), SEQUENCES,
                            (y_sequences > 0).astype(int)),
    "ensemble": (sn.EnsembleClassifier(sn.MLPClassifier(**MLP), n_estimators=3, random_state=0),
                 X, y_class),
}  # fmt: skip

REGRESSORS = {
    "mlp squared_error": (sn.MLPRegressor(**MLP), X, y_reg),
    "mlp poisson": (sn.MLPRegressor(loss="poisson", **MLP), X, np.abs(y_reg)),
    "mlp gaussian_nll": (sn.MLPRegressor(loss="gaussian_nll", **MLP), X, y_reg),
    "attention tabular": (sn.AttentionRegressor(**ATTENTION), X, y_reg),
    **{f"attention sequences {pooling}{', causal' * causal}": (
        sn.AttentionRegressor(padding_value=np.nan, pooling=pooling, causal=causal,
                              activation="gelu", **ATTENTION),
        SEQUENCES, y_sequences) for pooling in ("mean", "first") for causal in (False, True)},
    "attention gaussian_nll": (sn.AttentionRegressor(loss="gaussian_nll", **ATTENTION), X, y_reg),
    "ensemble": (sn.EnsembleRegressor(n_estimators=3, random_state=0), X, 100 * y_reg),
}  # fmt: skip


def _tolerance(case):
    return 1e-4 if "attention" in case else 1e-5


@pytest.mark.parametrize("case", list(CLASSIFIERS))
def test_classifiers_match_onnxruntime(case):
    estimator, X_, y = CLASSIFIERS[case]
    fit(estimator, X_, y)
    rows = X_.reshape(X_.shape[0], -1) if X_ is IMAGES else X_
    out = run(estimator, rows)
    np.testing.assert_allclose(
        out["probabilities"], estimator.predict_proba(X_), rtol=0, atol=_tolerance(case)
    )
    np.testing.assert_array_equal(out["label"], estimator.predict(X_))


@pytest.mark.parametrize("case", list(REGRESSORS))
def test_regressors_match_onnxruntime(case):
    estimator, X_, y = REGRESSORS[case]
    fit(estimator, X_, y)
    out = run(estimator, X_)
    scale = np.abs(y).max()  # the ensemble predicts in the units of y
    tolerance = _tolerance(case) * scale
    if "gaussian_nll" in case or case == "ensemble":
        mean, std = estimator.predict(X_, return_std=True)
        np.testing.assert_allclose(np.sqrt(out["variance"].ravel()), std, rtol=0, atol=tolerance)
    else:
        mean = estimator.predict(X_)
        assert "variance" not in out
    np.testing.assert_allclose(out["variable"].ravel(), mean, rtol=0, atol=tolerance)


def test_float64_graphs_match_to_rounding():
    clf = fit(sn.MLPClassifier(**MLP), X.astype(np.float64), y_class)
    out = run(clf, X, dtype=np.float64)
    np.testing.assert_allclose(
        out["probabilities"], clf.predict_proba(X.astype(np.float64)), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "estimator",
    [
        sn.MLPClassifier(activation="gelu", **MLP),
        sn.AttentionClassifier(activation="gelu", **{**ATTENTION, "max_iter": 3}),
    ],
    ids=["mlp", "attention"],
)
def test_gelu_graphs_run_in_onnxruntime_in_both_dtypes(estimator, dtype):
    """onnxruntime has no float64 Erf: the float64 graph computes it in float32."""
    clf = fit(estimator, X.astype(dtype), y_class)
    out = run(clf, X, dtype=dtype)
    np.testing.assert_allclose(
        out["probabilities"], clf.predict_proba(X.astype(dtype)), rtol=0, atol=1e-5
    )


def test_the_model_is_valid_and_documents_its_opset():
    model = sn.io.to_onnx(fit(sn.MLPRegressor(**MLP), X, y_reg))
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import] == [18]
    assert [i.name for i in model.graph.input] == ["X"]
    assert "MLPRegressor" in model.doc_string


def test_what_cannot_be_exported_says_so():
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="LogisticRegression"):
        sn.io.to_onnx(LogisticRegression().fit(X, y_class))
    with pytest.raises(NotFittedError):
        sn.io.to_onnx(sn.MLPClassifier())
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        sn.io.to_onnx(fit(sn.MLPClassifier(**MLP), X, y_class), dtype=np.int32)
    ensemble = sn.EnsembleClassifier(LogisticRegression(), n_estimators=2).fit(X, y_class)
    with pytest.raises(TypeError, match="ensemble of LogisticRegression"):
        sn.io.to_onnx(ensemble)


def test_without_onnx_the_error_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"stochnet\[onnx\]"):
        sn.io.to_onnx(sn.MLPClassifier())


def test_export_takes_coefficients_the_user_assigned():
    clf = fit(sn.MLPClassifier(**MLP), X, y_class)
    clf.coefs_ = [2.0 * w for w in clf.coefs_]  # a new list: not a view of the parameters
    proba = run(clf, X)["probabilities"]
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-4, atol=1e-5)
