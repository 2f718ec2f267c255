"""AttentionClassifier / AttentionRegressor: tasks, input forms, padding, uncertainty."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import stochnet as sn
from stochnet.datasets import make_marked_tokens

SMALL = dict(d_model=16, n_heads=2, n_layers=1, d_ff=32, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.mark.slow
def test_marked_token_task_needs_attention():
    X, y = make_marked_tokens(3000, random_state=0)
    X_test, y_test = make_marked_tokens(1000, random_state=1)
    attention = sn.AttentionClassifier(d_model=32, n_heads=4, n_layers=1, d_ff=64,
                                       batch_size=64, learning_rate_init=3e-3, max_iter=40,
                                       random_state=0).fit(X, y)  # fmt: skip
    mlp = sn.MLPClassifier((256, 256), early_stopping=True, random_state=0)
    mlp.fit(X.reshape(len(X), -1), y)
    attention_score = attention.score(X_test, y_test)
    mlp_score = mlp.score(X_test.reshape(len(X_test), -1), y_test)
    assert attention_score >= 0.95
    assert mlp_score < attention_score - 0.2


def test_digits_as_tabular_tokens():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    clf = sn.AttentionClassifier(
        d_model=32, n_heads=4, n_layers=1, d_ff=64, batch_size=64, max_iter=30, random_state=0
    ).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.sequence_shape_ == (64, 1)


def _sequences(n=60, length=6, width=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, length, width))
    return X, (X[:, :, 0].max(1) > 0.8).astype(int)


def test_three_d_input_equals_two_d_with_sequence_shape():
    X, y = _sequences()
    a = sn.AttentionClassifier(max_iter=5, **SMALL).fit(X, y)
    b = sn.AttentionClassifier(max_iter=5, sequence_shape=(6, 3), **SMALL)
    b.fit(X.reshape(len(X), -1), y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X.reshape(len(X), -1)))
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X.reshape(len(X), -1)))
    assert a.sequence_shape_ == (6, 3)
    with pytest.raises(ValueError, match="sequences of shape"):
        a.predict(X[:, :5])


def test_padding_value_masks_trailing_tokens():
    rng = np.random.default_rng(1)
    seqs = [rng.normal(size=(rng.integers(1, 7), 2)) for _ in range(50)]
    y = np.array([int(s[:, 0].sum() > 0) for s in seqs])
    X = sn.pad_sequences(seqs)
    assert X.shape == (50, 6, 2) and np.isnan(X).any()
    clf = sn.AttentionClassifier(padding_value=np.nan, max_iter=5, **SMALL).fit(X, y)
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba))
    # The padding's content does not matter: another pad value gives the same model.
    X_zero = sn.pad_sequences(seqs, padding_value=-9.0)
    other = sn.AttentionClassifier(padding_value=-9.0, max_iter=5, **SMALL).fit(X_zero, y)
    np.testing.assert_allclose(other.predict_proba(X_zero), proba, rtol=1e-12)
    maps = clf.attention_weights(X[:3])
    lengths = [len(s) for s in seqs[:3]]
    for i, n_valid in enumerate(lengths):
        assert np.all(maps[i, ..., n_valid:] == 0)
    X_bad = X.copy()
    X_bad[0, 0, 0] = np.nan  # NaN before the trailing padding
    if lengths[0] > 1:
        with pytest.raises(ValueError, match="before the trailing padding"):
            clf.predict(X_bad)


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="same number of features"):
        sn.pad_sequences([np.zeros((2, 2)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match="more than length"):
        sn.pad_sequences([np.zeros(5)], length=3)


def test_causal_and_first_token_pooling():
    X, y = _sequences()
    clf = sn.AttentionClassifier(causal=True, pooling="first", max_iter=3, **SMALL).fit(X, y)
    maps = clf.attention_weights(X[:4])
    assert np.all(np.triu(maps[0, 0, 0], 1) == 0)
    # With causal attention and first-token pooling, only token 0 reaches the output.
    X2 = X.copy()
    X2[:, 1:] = 0.0
    np.testing.assert_allclose(clf.predict_proba(X2), clf.predict_proba(X), rtol=1e-12)


def test_attention_scale_is_used():
    X, y = _sequences()
    a = sn.AttentionClassifier(max_iter=2, **SMALL).fit(X, y)
    b = sn.AttentionClassifier(max_iter=2, attention_scale=1.0 / np.sqrt(8), **SMALL).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))  # d_k = 8
    c = sn.AttentionClassifier(max_iter=2, attention_scale=3.0, **SMALL).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_mc_dropout_uncertainty_and_regression_variance_head():
    X, y = _sequences()
    clf = sn.AttentionClassifier(dropout=0.2, attention_dropout=0.1, max_iter=5, **SMALL)
    clf.fit(X, y)
    u = clf.predict_uncertainty(X[:10], mc_samples=8, random_state=0)
    assert u.mean.shape == (10, 2) and np.all(u.epistemic > 0)
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic, atol=1e-12)
    # Prediction itself is deterministic with dropout off.
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    reg = sn.AttentionRegressor(loss="gaussian_nll", max_iter=5, **SMALL)
    reg.fit(X, X[:, :, 0].mean(1))
    mean, std = reg.predict(X, return_std=True)
    assert mean.shape == std.shape == (60,) and np.all(std > 0)


def test_warm_start_partial_fit_and_lbfgs():
    X, y = _sequences()
    clf = sn.AttentionClassifier(max_iter=2, warm_start=True, **SMALL).fit(X, y)
    theta = clf.parameters_.copy()
    clf.fit(X, y)
    assert clf.t_ == 4 * len(X) and not np.array_equal(theta, clf.parameters_)
    clf.partial_fit(X, y)
    lbfgs = sn.AttentionRegressor(solver="lbfgs", max_iter=30, **SMALL)
    target = X[:, :, 1].mean(1)
    assert lbfgs.fit(X, target).score(X, target) > 0.5


def test_pruning_keeps_embeddings_and_matrices_sparse():
    X = np.random.default_rng(0).normal(size=(80, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = sn.AttentionClassifier(**SMALL, max_iter=5, prune=0.5, prune_method="magnitude")
    clf.fit(X, y)
    net = clf._network
    assert clf.sparsity_ == pytest.approx(0.5, abs=0.01)
    assert [m.shape for m in clf.masks_] == [w.shape for w in net.coefs]
    for mask, w in zip(clf.masks_, net.coefs, strict=True):
        assert np.all(w[~mask] == 0) and (~mask).mean() == pytest.approx(0.5, abs=0.02)
    clf.prune_weights(0.8, method="random", scope="global")
    assert clf.sparsity_ == pytest.approx(0.8, abs=0.01)
    pruned = net.theta[: net.plan.n_coef] == 0
    clf.set_params(warm_start=True, max_iter=3).fit(X, y)  # fine-tuning keeps the zeros
    assert np.all(net.theta[: net.plan.n_coef][pruned] == 0)
    assert clf.predict_proba(X).shape == (80, 2)
    end = sn.AttentionRegressor(**SMALL, max_iter=3, prune=0.3, prune_at="end")
    end.fit(X, X[:, 0])
    assert end.sparsity_ == pytest.approx(0.3, abs=0.01)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(d_model=10, n_heads=4), "multiple of 'n_heads'"),
        (dict(pooling="max"), "'pooling' parameter"),
        (dict(attention_dropout=1.0), "'attention_dropout' parameter"),
        (dict(sequence_shape=(5, 0)), "'sequence_shape' parameter"),
        (dict(padding_value="nan"), "'padding_value' parameter"),
        (dict(causal="yes"), "'causal' parameter"),
        (dict(solver="lbfgs", dropout=0.1), "deterministic objective"),
    ],
)
def test_bad_parameters_name_themselves(params, match):
    X, y = _sequences()
    with pytest.raises(ValueError, match=match):
        sn.AttentionClassifier(**{**SMALL, **params}).fit(X, y)


def test_sequence_shape_must_match_the_data():
    X, y = _sequences()
    with pytest.raises(ValueError, match="needs 20 values per row"):
        sn.AttentionClassifier(sequence_shape=(5, 4), **SMALL).fit(X.reshape(60, -1), y)


def test_save_and_load_round_trip(tmp_path):
    X, y = _sequences()
    clf = sn.AttentionClassifier(max_iter=3, padding_value=-1.0, **SMALL).fit(X, y)
    sn.io.save(clf, tmp_path / "att.npz")
    loaded = sn.io.load(tmp_path / "att.npz")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.attention_weights(X[:2]), clf.attention_weights(X[:2]))


@pytest.mark.slow
def test_predict_in_a_fresh_process(tmp_path):
    # Regression: the attention kernels call the BLAS from Numba's threads; in a fresh
    # process with a threaded BLAS that crashed (segfault) until predict limited the
    # BLAS to one thread around them.
    import subprocess
    import sys

    X, y = _sequences(n=200, length=16, width=8)
    clf = sn.AttentionClassifier(
        d_model=32, n_heads=4, n_layers=1, d_ff=64, max_iter=2, random_state=0
    ).fit(X, y)
    sn.io.save(clf, tmp_path / "model.npz")
    np.save(tmp_path / "X.npy", X)
    code = (
        "import numpy as np, stochnet as sn\n"
        f"clf = sn.io.load({str(tmp_path / 'model.npz')!r})\n"
        f"X = np.load({str(tmp_path / 'X.npy')!r})\n"
        "for _ in range(5):\n"
        "    p = clf.predict_proba(X)\n"
        f"np.save({str(tmp_path / 'p.npy')!r}, p)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), clf.predict_proba(X))
