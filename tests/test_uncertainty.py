"""Uncertainty decomposition identities and calibration metrics."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import log_loss

from stochnet import uncertainty as U

from .conftest import examples

_floats = st.floats(0.0, 10.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=examples(100))
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(2, 4)),
        elements=_floats,
    )
)
def test_classification_total_is_aleatoric_plus_epistemic(raw):
    raw = raw + 1e-3
    p = raw / raw.sum(axis=2, keepdims=True)
    r = U.decompose_classification(p)
    np.testing.assert_allclose(r.total, r.aleatoric + r.epistemic, rtol=0, atol=1e-10)
    assert np.all(r.epistemic >= -1e-12)  # mutual information is non-negative
    np.testing.assert_allclose(r.mean.sum(1), 1.0)


@settings(max_examples=examples(100))
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 6), st.integers(1, 5)), elements=st.floats(-1e3, 1e3)
    ),
    st.data(),
)
def test_regression_law_of_total_variance(means, data):
    var = data.draw(arrays(np.float64, means.shape, elements=_floats))
    r = U.decompose_regression(means, var)
    np.testing.assert_allclose(
        r.total, r.aleatoric + r.epistemic, rtol=0, atol=1e-10 * (1 + np.abs(r.total).max())
    )
    np.testing.assert_allclose(r.epistemic, means.var(axis=0), atol=1e-9)
    # The law of total variance against a direct mixture computation.
    second_moment = (var + means**2).mean(axis=0)
    np.testing.assert_allclose(
        r.total, second_moment - means.mean(axis=0) ** 2, rtol=1e-9, atol=1e-6
    )


def test_nll_and_brier_against_definitions():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=50)
    y = rng.integers(0, 4, 50)
    assert U.nll(y, p) == pytest.approx(log_loss(y, p, labels=range(4)))
    assert U.brier_score(y, p) == pytest.approx(((p - np.eye(4)[y]) ** 2).sum(1).mean())
    mu, var = rng.normal(size=20), rng.uniform(0.5, 2, 20)
    yr = rng.normal(size=20)
    expected = np.mean(0.5 * np.log(2 * np.pi * var) + 0.5 * (yr - mu) ** 2 / var)
    assert U.nll(yr, mean=mu, var=var) == pytest.approx(expected)


def test_expected_calibration_error_by_hand():
    # Two bins: confidence 0.9 with accuracy 0.5, confidence 0.6 with accuracy 1.
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.4, 0.6]])
    y = np.array([0, 1, 1, 1])
    d = U.reliability_diagram(y, p, n_bins=10)
    np.testing.assert_allclose(d.confidence, [0.6, 0.9])
    np.testing.assert_allclose(d.accuracy, [1.0, 0.5])
    assert d.ece == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    assert d.mce == pytest.approx(0.4)
    adaptive = U.expected_calibration_error(y, p, n_bins=2, strategy="quantile")
    assert adaptive == pytest.approx(0.4)


def test_labels_outside_classes_are_an_error():
    with pytest.raises(ValueError, match="classes"):
        U.nll([5], np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match="strategy"):
        U.reliability_diagram([0], np.array([[0.5, 0.5]]), strategy="x")


def test_plots_draw(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    ax = U.reliability_diagram([0, 1], p).plot()
    assert ax.get_xlabel().startswith("confidence")
    r = U.decompose_regression(np.random.default_rng(0).normal(size=(3, 10)), np.ones((3, 10)))
    r.plot(np.arange(10)).figure.savefig(tmp_path / "bands.png")
    assert (tmp_path / "bands.png").stat().st_size > 0
