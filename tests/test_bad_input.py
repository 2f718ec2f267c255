"""Bad input everywhere: a clear exception naming the argument, never garbage or a crash.

Each public function and estimator gets valid arguments except one, drawn from a pool
of wrong types, shapes and values; the call must raise ``ValueError`` or ``TypeError``
whose message names that argument. Inputs that are merely inconvenient (read-only,
non-contiguous, integer or boolean arrays) must work and give the same results.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stochnet as sn
from stochnet import uncertainty

from .conftest import examples

BAD_VALUES = [
    "abc", -1, -0.5, 2.5, 1e30, float("nan"), float("inf"), 1j, object(), [1, "a"],
    np.ones((2, 2, 2)), True, 10**30, (), b"\x00",
]  # fmt: skip

PROBA = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
CALLS = {
    "uniform": (sn.random.uniform, {"shape": (3,), "seed": 0, "stream": 0, "step": 0,
                                    "dtype": np.float32, "device": "cpu"}),
    "normal": (sn.random.normal, {"shape": (3,), "seed": 0, "stream": "noise", "step": 0,
                                  "dtype": np.float64, "device": "cpu"}),
    "dropout_mask": (sn.random.dropout_mask, {"shape": (3,), "rate": 0.5, "seed": 0, "step": 0,
                                              "stream": "dropout", "device": "cpu"}),
    "permutation": (sn.random.permutation, {"n": 5, "seed": 0, "stream": 0, "step": 0}),
    "random_mask": (sn.prune.random_mask, {"shape": (3, 4), "amount": 0.5, "seed": 0,
                                           "step": 0, "device": "cpu"}),
    "magnitude_mask": (sn.prune.magnitude_mask, {"W": np.ones((3, 4)), "amount": 0.5,
                                                 "scope": "layer"}),
    "random_crop": (sn.augment.random_crop, {"X": np.ones((2, 6, 6)), "size": 4, "seed": 0,
                                             "padding": 1, "step": 0, "device": "cpu",
                                             "padding_mode": "constant"}),
    "RandomCrop": (sn.RandomCrop, {"size": 4, "padding": 0, "padding_mode": "constant"}),
    "GaussianNoise": (sn.GaussianNoise, {"std": 0.1}),
    "decompose_classification": (uncertainty.decompose_classification,
                                 {"probabilities": np.stack([PROBA, PROBA])}),
    "decompose_regression": (uncertainty.decompose_regression,
                             {"means": np.ones((2, 3)), "variances": np.ones((2, 3))}),
    "nll": (uncertainty.nll, {"y_true": [1, 0, 1], "proba": PROBA}),
    "brier_score": (uncertainty.brier_score, {"y_true": [1, 0, 1], "proba": PROBA}),
    "reliability_diagram": (uncertainty.reliability_diagram,
                            {"y_true": [1, 0, 1], "proba": PROBA, "n_bins": 5,
                             "strategy": "uniform"}),
}  # fmt: skip


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


#: Values of the pool that are in fact valid for an argument.
VALID = {
    "seed": lambda v: v is None or _is_int(v),  # any int is hashed into a key
    "shape": lambda v: isinstance(v, tuple) and v == (),  # a scalar
    "W": lambda v: isinstance(v, np.ndarray) or v == (),  # a 3-D array; no arrays at all
    "std": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1e30,
    "probabilities": lambda v: isinstance(v, np.ndarray),  # a (2, 2, 2) stack of ones
    "X": lambda v: isinstance(v, np.ndarray),
}


@settings(max_examples=examples(400))
@given(call=st.sampled_from(sorted(CALLS)), data=st.data())
def test_public_functions_reject_bad_arguments_by_name(call, data):
    function, kwargs = CALLS[call]
    arg = data.draw(st.sampled_from(sorted(kwargs)))
    bad = data.draw(st.sampled_from(BAD_VALUES))
    try:
        function(**{**kwargs, arg: bad})
    except (ValueError, TypeError) as exc:
        message = str(exc).lower()
        name = "std" if call == "GaussianNoise" else arg
        # A 2×2 image is valid input but too small for a crop of 4: the error names size.
        assert name.lower() in message or (call == "random_crop" and arg == "X"), (arg, bad, exc)
        return
    assert VALID.get(arg, lambda v: False)(bad), f"{call}({arg}={bad!r}) was accepted"


def test_bad_argument_pool_really_fails_where_it_should():
    """Guard against the property test passing vacuously."""
    with pytest.raises(ValueError, match="rate"):
        sn.random.dropout_mask(3, rate=1.5, seed=0)
    with pytest.raises(ValueError, match="dtype"):
        sn.random.uniform(3, seed=0, dtype="int32")
    with pytest.raises(TypeError, match="shape"):
        sn.prune.random_mask(2.5, 0.1, seed=0)


# ------------------------------------------------------------------ estimators
ESTIMATOR_PARAMS = {
    "hidden_layer_sizes": [(-1,), (0,), "abc", (2.5,), 1e30],
    "activation": ["sigmoid", 1, None],
    "solver": ["newton", None],
    "alpha": [-1.0, float("nan"), "abc"],
    "batch_size": [0, -5, 2.5, "all"],
    "learning_rate_init": [0.0, -1.0, "abc"],  # inf is valid as in scikit-learn: it diverges
    "max_iter": [0, -1, 2.5],
    "dropout": [1.0, -0.1, (0.1, 0.2, 0.3), "abc"],
    "input_noise": [-1.0, float("nan")],
    "l1": [-1.0],
    "init": ["glorot", ("uniform", -1.0), 3],
    "device": ["tpu", 0],
    "prune": [1.0, -0.5],
    "validation_fraction": [1.0, -0.1],
    "momentum": [1.5, -0.1],
    "beta_1": [1.0],
    "epsilon": [0.0],
}


@pytest.mark.parametrize(
    "param,value", [(p, v) for p, values in ESTIMATOR_PARAMS.items() for v in values]
)
def test_estimator_parameters_are_checked_at_fit_by_name(param, value):
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    clf = sn.MLPClassifier((4,), max_iter=2).set_params(**{param: value})
    with pytest.raises((ValueError, TypeError), match=param):
        clf.fit(X, y)
    # A failed fit leaves a usable estimator.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.set_params(**{param: sn.MLPClassifier().get_params()[param]}).fit(X, y)
    assert clf.predict(X).shape == (20,)


BAD_X = {
    "complex": (np.ones((6, 3)) * 1j, "Complex data not supported"),
    "strings": (np.array([["a", "b", "c"]] * 6, dtype=object), "could not convert"),
    "NaN": (np.full((6, 3), np.nan), "NaN"),
    "inf": (np.full((6, 3), np.inf), "infinity"),
    "empty": (np.ones((0, 3)), "0 sample"),
    "3-D": (np.ones((6, 3, 2)), "dim"),
    "ragged": ([[1, 2, 3], [1, 2]] * 3, "inhomogeneous|setting an array element"),
}


@pytest.mark.parametrize("case", list(BAD_X))
@pytest.mark.parametrize("estimator", [sn.MLPClassifier, sn.MLPRegressor])
def test_bad_X_gets_scikit_learns_errors(case, estimator):
    X, match = BAD_X[case]
    with pytest.raises(ValueError, match=match):
        estimator(hidden_layer_sizes=(4,), max_iter=2).fit(X, np.arange(6) % 2)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_inf_in_large_X_are_found(value, dtype):
    """Large float arrays take the parallel check (``PARALLEL_CHECK_SIZE``)."""
    from stochnet.estimators._inputs import PARALLEL_CHECK_SIZE

    X = np.zeros((PARALLEL_CHECK_SIZE // 100 + 7, 100), dtype=dtype)
    y = np.arange(X.shape[0]) % 2
    X[-1, -1] = value  # in the last, partial block
    with pytest.raises(ValueError, match="NaN or infinity"):
        sn.MLPClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(X, y)
    X[-1, -1] = 0.0
    X[3, 4] = value
    with pytest.raises(ValueError, match="NaN or infinity"):
        sn.MLPRegressor(hidden_layer_sizes=(2,), max_iter=1).partial_fit(X, y)


def test_inconvenient_but_valid_X_gives_the_same_model():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, size=(40, 6))
    y = X[:, 0] % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = sn.MLPClassifier((4,), max_iter=5, random_state=0).fit(X.astype(float), y)
        readonly = X.astype(float)
        readonly.flags.writeable = False
        strided = np.asfortranarray(np.repeat(X.astype(float), 2, axis=1))[:, ::2]
        for variant in (X, readonly, strided, X.tolist()):
            fitted = sn.MLPClassifier((4,), max_iter=5, random_state=0).fit(variant, y)
            np.testing.assert_array_equal(fitted.parameters_, reference.parameters_)
            np.testing.assert_array_equal(
                fitted.predict_proba(variant), reference.predict_proba(X.astype(float))
            )
