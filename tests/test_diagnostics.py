"""Diagnostics measure what the theory predicts, within the sampling error."""

import warnings

import matplotlib
import numpy as np
import pytest

import stochnet as sn
from stochnet.diagnostics import (
    attention_scaling,
    dropout_gap,
    gradient_estimators,
    jacobian_norms,
    jacobian_operator,
    minibatch_noise,
    signal_propagation,
)
from stochnet.diagnostics.gradients import ESTIMATORS as ESTIMATORS_NAMES

matplotlib.use("Agg")


# ------------------------------------------------------------ signal propagation
def test_he_keeps_relu_signal_stable_through_50_layers():
    he = signal_propagation(depth=50, width=256, init="he_normal", random_state=0)
    assert 0.5 <= he.forward[-1] <= 2.0
    assert 0.5 <= he.backward[0] <= 2.0
    np.testing.assert_allclose(he.weight_variance, 2 / 256, rtol=0.05)
    np.testing.assert_allclose(he.theory, 1.0, rtol=0.1)


def test_small_uniform_collapses_and_large_uniform_explodes():
    small = signal_propagation(depth=50, init=("uniform", 0.01), n_networks=2, random_state=0)
    large = signal_propagation(depth=50, init=("uniform", 1.0), n_networks=2, random_state=0)
    assert small.forward[-1] < 1e-6 and small.backward[0] < 1e-6
    assert large.forward[-1] > 1e6
    # The mean-field prediction tracks the measurement over 200 orders of magnitude.
    for result in (small, large):
        log_ratio = np.log10(result.forward[1:]) - np.log10(result.theory[1:])
        assert np.all(np.abs(log_ratio) < 1.0)


def test_signal_propagation_on_a_fitted_estimators_layers():
    X = np.random.default_rng(0).normal(size=(200, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = sn.MLPClassifier((16, 16), max_iter=20, random_state=0).fit(X, X[:, 0] > 0)
    result = signal_propagation(coefs=clf.coefs_[:-1], random_state=0)
    assert result.forward.shape == (3,) and result.label == "fitted"
    assert np.all(np.isfinite(result.forward)) and np.all(result.forward > 0)


def test_signal_propagation_checks_its_arguments():
    with pytest.raises(ValueError, match="activation"):
        signal_propagation(activation="swish")
    with pytest.raises(ValueError, match="init"):
        signal_propagation(init="nonsense")
    with pytest.raises(TypeError, match="n_samples"):
        signal_propagation(n_samples=2.5)


# ---------------------------------------------------------- gradient estimators
def test_reparameterisation_beats_the_score_function_and_both_are_unbiased():
    result = gradient_estimators("quadratic", mu=2.0, sigma=1.0, n_repeats=2000, random_state=0)
    sf, rp = result.variance["score_function"], result.variance["reparameterisation"]
    assert np.all(sf >= 10 * rp)
    for name in ESTIMATORS_NAMES:
        error = np.abs(result.mean[name] - result.exact)
        assert np.all(error <= 3 * result.standard_error(name)), name


def test_estimator_variance_follows_one_over_m_and_the_closed_form():
    result = gradient_estimators("quadratic", n_repeats=4000, random_state=1)
    for name in ("score_function", "reparameterisation"):
        slope = np.polyfit(np.log(result.sample_sizes), np.log(result.variance[name]), 1)[0]
        assert -1.1 <= slope <= -0.9, (name, slope)
        np.testing.assert_allclose(result.variance[name], result.theory_variance[name], rtol=0.3)


def test_baseline_removes_the_offset_of_f():
    """A leave-one-out baseline cancels the constant part of f, which carries no
    gradient but dominates the plain score function's variance."""
    offset = (lambda x: np.sin(x) + 5.0, np.cos, np.cos(1.0) * np.exp(-0.5))
    result = gradient_estimators(
        offset, mu=1.0, sample_sizes=(8, 32, 128), n_repeats=2000, random_state=2
    )
    ratio = result.variance["score_function"] / result.variance["score_function_baseline"]
    assert np.all(ratio > 5)
    for name in ESTIMATORS_NAMES:
        error = np.abs(result.mean[name] - result.exact)
        assert np.all(error <= 3 * result.standard_error(name)), name


def test_custom_function_and_bad_arguments():
    cubic = (lambda x: x**3, lambda x: 3 * x**2, 3 * (1.0 + 1.0))  # ∇μ E[x³] = 3(μ² + σ²)
    result = gradient_estimators(cubic, mu=1.0, n_repeats=2000, random_state=0)
    assert abs(result.mean["reparameterisation"][-1] - 6.0) < 0.2
    with pytest.raises(ValueError, match="sample_sizes"):
        gradient_estimators(sample_sizes=(1, 4))
    with pytest.raises(ValueError, match="sigma"):
        gradient_estimators(sigma=0.0)
    with pytest.raises(ValueError, match="f must be"):
        gradient_estimators("cubic")


def test_plots_draw_on_the_given_axes():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert signal_propagation(depth=5, width=16, n_samples=50).plot(ax) is ax
    assert gradient_estimators(sample_sizes=(2, 4), n_repeats=50).plot(ax) is ax
    assert attention_scaling((4, 8), n_samples=50, n_keys=4).plot(ax) is ax
    plt.close(fig)


# ------------------------------------------------------------- attention scaling
@pytest.mark.parametrize("seed", [0, 1])
def test_dot_products_of_random_vectors_have_variance_d_k(seed):
    result = attention_scaling((16, 64, 256), random_state=seed)
    np.testing.assert_allclose(result.logit_variance, result.d_k, rtol=0.1)
    np.testing.assert_allclose(result.scaled_logit_variance, 1.0, rtol=0.1)
    np.testing.assert_allclose(result.cosine_std, 1 / np.sqrt(result.d_k), rtol=0.1)


def test_unscaled_logits_saturate_the_softmax():
    result = attention_scaling((16, 64, 256), n_keys=32, random_state=0)
    assert np.all(np.diff(result.max_weight) > 0)  # wider heads: ever closer to one-hot
    assert np.all(result.entropy < result.scaled_entropy)
    # Scaled logits of variance 1 keep the entropy at one value for every width.
    assert np.ptp(result.scaled_entropy) < 0.05
    with pytest.raises(ValueError, match="d_k_values"):
        attention_scaling((0, 16))


# ---------------------------------------------------------------- Jacobian norms
def _finite_difference_jacobian(regressor, x, eps=1e-6):
    """Central differences of the compiled network's outputs (identity output layer)."""
    columns = []
    for j in range(x.shape[0]):
        step = np.zeros_like(x)
        step[j] = eps
        up, down = regressor.predict(np.stack([x + step, x - step]))
        columns.append(np.atleast_1d(up - down) / (2 * eps))
    return np.array(columns).T


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "gelu", "softplus"])
def test_power_iteration_matches_the_svd_of_the_dense_jacobian(activation):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    Y = np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2], X[:, 3]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = sn.MLPRegressor(
            hidden_layer_sizes=(16, 8), activation=activation, max_iter=50, random_state=0
        ).fit(X, Y)
    result = jacobian_norms(reg, X[:10], random_state=0)
    assert result.converged
    for x, norm in zip(X[:10], result.norms, strict=True):
        dense = _finite_difference_jacobian(reg, x)
        np.testing.assert_allclose(
            jacobian_operator(reg, x) @ np.eye(5), dense, rtol=1e-5, atol=1e-7
        )
        assert abs(norm - np.linalg.svd(dense, compute_uv=False)[0]) <= 1e-4 * norm


def test_jacobian_norms_reflect_weight_decay():
    """A heavily L2-penalised net is smoother: its Jacobian norms are smaller."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 6))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free = sn.MLPClassifier((32,), alpha=0.0, max_iter=300, random_state=0).fit(X, y)
        decayed = sn.MLPClassifier((32,), alpha=10.0, max_iter=300, random_state=0).fit(X, y)
    assert np.median(jacobian_norms(decayed, X).norms) < np.median(jacobian_norms(free, X).norms)
    with pytest.raises(ValueError, match="X must have shape"):
        jacobian_norms(free, X[:, :3])


# ---------------------------------------------------------------- dropout gap
def _fit_quiet(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y)


def test_linear_network_has_no_jensen_gap_and_first_layer_variance_is_exact():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2
    linear = sn.MLPRegressor(
        hidden_layer_sizes=(32, 32), activation="identity", dropout=0.3, max_iter=50, random_state=0
    )
    result = dropout_gap(_fit_quiet(linear, X, y), X, random_state=0)
    assert np.all(np.abs(result.gap) <= 3 * result.gap_standard_error)
    # Inverted dropout adds a² p / (1 - p) to every unit of the first hidden layer.
    np.testing.assert_allclose(result.added_variance[0], result.added_variance_theory[0], rtol=0.03)


def test_nonlinear_network_has_a_jensen_gap():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    y = (np.sin(X[:, 0]) + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0)
    clf = sn.MLPClassifier((64,), dropout=0.5, max_iter=50, random_state=0)
    result = dropout_gap(_fit_quiet(clf, X, y), X, random_state=0)
    assert np.max(np.abs(result.gap) / result.gap_standard_error) > 5
    assert abs(result.gap.sum()) < 1e-9  # probabilities: the gaps of the classes cancel
    with pytest.raises(ValueError, match="dropout"):
        dropout_gap(_fit_quiet(sn.MLPClassifier((8,), max_iter=5), X, y), X)


# -------------------------------------------------------------- minibatch noise
@pytest.fixture(scope="module")
def small_classifier():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 6))
    y = (X[:, 0] + 0.5 * rng.normal(size=1000) > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sn.MLPClassifier((16,), max_iter=3, random_state=0).fit(X, y), X, y


@pytest.mark.parametrize("seed", [0, 1])
def test_independent_batches_follow_sigma2_over_m(small_classifier, seed):
    clf, X, y = small_classifier
    result = minibatch_noise(clf, X, y, n_draws=400, random_state=seed)
    assert -1.1 <= result.slope <= -0.9
    # 400 draws: a variance estimate's relative standard error is about 7 %.
    np.testing.assert_allclose(result.gradient_variance, result.gradient_theory, rtol=0.3)
    np.testing.assert_allclose(result.loss_variance, result.loss_theory, rtol=0.3)
    assert result.floor_theory == 0.0 and np.isfinite(result.noise_scale)
    assert result.noise_scale > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correlated_batches_level_off_at_rho_sigma2(small_classifier, seed):
    """Groups of 100 noisy copies of 10 base rows: batches from one group share its
    base row, so their variance stops falling at the pairwise covariance ρσ²."""
    clf, _, _ = small_classifier
    rng = np.random.default_rng(seed)
    X = np.repeat(rng.normal(size=(10, 6)), 100, axis=0) + rng.normal(size=(1000, 6))
    y = (X[:, 0] > 0).astype(int)
    groups = np.repeat(np.arange(10), 100)
    result = minibatch_noise(clf, X, y, groups=groups, random_state=seed)
    assert result.floor_theory > 0
    assert abs(result.floor - result.floor_theory) <= 0.25 * result.floor_theory
    assert result.slope > -0.9  # flatter than σ²/m
    with pytest.raises(ValueError, match="batch_sizes"):
        minibatch_noise(clf, X, y, groups=groups, batch_sizes=(1, 200))
    with pytest.raises(ValueError, match="groups"):
        minibatch_noise(clf, X, y, groups=groups[:10])


def test_measuring_a_model_leaves_it_as_it_was():
    """A diagnostic measures the fitted model: parameters changed after the fit (here
    dropout, pruning and the seed) take effect at the next fit, not in the measurement."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = sn.MLPClassifier((16,), dropout=0.1, max_iter=3, random_state=0).fit(X, y)
    theta, keys = clf.parameters_.copy(), dict(clf._keys)
    clf.set_params(dropout=0.5, prune=0.5, random_state=7)
    minibatch_noise(clf, X, y, batch_sizes=(1, 4), n_draws=5, random_state=0)
    dropout_gap(clf, X[:20], mc_samples=3, random_state=0)
    np.testing.assert_array_equal(clf.parameters_, theta)
    assert clf.network_.dropout == (0.1,) and clf.sparsity_ == 0.0 and clf._keys == keys


def test_head_logits_match_the_random_vector_theory_at_initialisation():
    from stochnet import AttentionClassifier
    from stochnet.diagnostics import head_logits

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 16, 8))
    y = rng.integers(0, 2, 200)
    results = []
    for scale in (None, 2.0 / np.sqrt(8)):
        # A learning rate of ~0 keeps the initial (independent) queries and keys.
        clf = AttentionClassifier(32, 4, 2, 32, attention_scale=scale, max_iter=1,
                                  learning_rate_init=1e-12, random_state=0).fit(X, y)  # fmt: skip
        r = head_logits(clf, X)
        assert r.variance.shape == (2, 4) and r.d_k == 8
        ratio = r.variance / r.predicted_variance
        assert np.all((ratio > 0.5) & (ratio < 2.0)), ratio
        assert np.all(r.entropy <= r.max_entropy + 1e-9)
        results.append(r.variance)
    # Layer 0 sees the same queries and keys; later layers see inputs the scale changed.
    np.testing.assert_allclose(results[1][0] / results[0][0], 4.0, rtol=1e-3)
