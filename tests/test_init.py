import numpy as np
import pytest
import scipy.stats

from stochnet.init import NAMED, check_init, initialize_layer
from stochnet.random import derive_key

KEY = derive_key(0)
FAN_IN, FAN_OUT = 400, 300
N = FAN_IN * FAN_OUT


def _var_tolerance(var, kurtosis=3.0):
    """4 standard errors of a sample variance with the given kurtosis."""
    return 4 * var * np.sqrt((kurtosis - 1) / N)


@pytest.mark.parametrize(
    ("init", "var", "kurtosis"),
    [
        ("he_normal", 2 / FAN_IN, 3.0),
        ("he_uniform", 2 / FAN_IN, 1.8),
        ("lecun_normal", 1 / FAN_IN, 3.0),
        ("xavier_normal", 2 / (FAN_IN + FAN_OUT), 3.0),
        ("glorot_uniform", 2 / (FAN_IN + FAN_OUT), 1.8),
        (("uniform", 0.01), 0.01**2 / 3, 1.8),
        (("normal", 0.3), 0.09, 3.0),
    ],
)
def test_weight_variance(init, var, kurtosis):
    w, _ = initialize_layer(init, FAN_IN, FAN_OUT, KEY, layer=0)
    assert w.shape == (FAN_IN, FAN_OUT)
    assert abs(w.mean()) < 4 * np.sqrt(var / N)
    assert abs(w.var() - var) < _var_tolerance(var, kurtosis)


@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh"])
def test_glorot_uniform_is_scikit_learns_scheme(activation):
    factor = 2.0 if activation == "logistic" else 6.0
    bound = np.sqrt(factor / (FAN_IN + FAN_OUT))
    w, b = initialize_layer("glorot_uniform", FAN_IN, FAN_OUT, KEY, 0, activation)
    for x in (w, b):
        assert np.all(np.abs(x) < bound)
    assert np.abs(w).max() > 0.99 * bound
    assert b.std() > 0.4 * bound  # biases are drawn too, as scikit-learn does


@pytest.mark.parametrize("init", [n for n in NAMED if n != "glorot_uniform"])
def test_other_schemes_start_biases_at_zero(init):
    _, b = initialize_layer(init, 5, 7, KEY, 0)
    np.testing.assert_array_equal(b, 0.0)


def test_scipy_frozen_distribution():
    w, _b = initialize_layer(scipy.stats.laplace(scale=0.1), FAN_IN, FAN_OUT, KEY, 2)
    assert abs(w.var() - 2 * 0.1**2) < _var_tolerance(0.02, kurtosis=6.0)
    w2, _ = initialize_layer(scipy.stats.laplace(scale=0.1), FAN_IN, FAN_OUT, KEY, 2)
    np.testing.assert_array_equal(w, w2)


def test_callable_receives_shape_and_generator():
    seen = {}

    def init(shape, rng):
        seen["shape"], seen["rng"] = shape, rng
        return rng.standard_normal(shape) * 0.5

    w, _ = initialize_layer(init, 3, 4, KEY, 1, dtype=np.float32)
    assert seen["shape"] == (3, 4)
    assert isinstance(seen["rng"], np.random.Generator)
    assert w.dtype == np.float32


def test_layers_and_seeds_are_independent_and_reproducible():
    w0, _ = initialize_layer("he_normal", 50, 50, KEY, 0)
    w1, _ = initialize_layer("he_normal", 50, 50, KEY, 1)
    again, _ = initialize_layer("he_normal", 50, 50, KEY, 0)
    other, _ = initialize_layer("he_normal", 50, 50, derive_key(1), 0)
    np.testing.assert_array_equal(w0, again)
    assert not np.array_equal(w0, w1)
    assert not np.array_equal(w0, other)


@pytest.mark.parametrize(
    "bad", ["he", ("uniform",), ("uniform", -1.0), ("cauchy", 1.0), ("normal", np.inf), 3]
)
def test_bad_specs_list_the_choices(bad):
    with pytest.raises(ValueError, match="glorot_uniform"):
        check_init(bad)


@pytest.mark.parametrize("init", [lambda s, r: np.zeros((2, 2)), lambda s, r: np.full(s, np.nan)])
def test_callable_returning_bad_arrays_is_rejected(init):
    with pytest.raises(ValueError, match="init returned"):
        initialize_layer(init, 3, 4, KEY, 0)
