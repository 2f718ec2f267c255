"""Every constructor parameter on a warm start or ``partial_fit``: it takes effect in the
continued training, or the continuation raises a ``ValueError`` that names it. Nothing
is silently ignored.

The oracle: a parameter whose new value changes a *fresh* fit of the same setup must
change the continued fit too (or be refused by name); one that changes nothing in a
fresh fit (``momentum`` under Adam, ``verbose``) is free to change nothing here.
"""

import warnings
from copy import deepcopy

import numpy as np
import pytest
import scipy.stats
from sklearn.base import clone, is_classifier

import stochnet as sn

#: A different, valid value of each parameter; of a list, the first one that differs
#: from the setup's value.
ALTERNATIVES = {
    "hidden_layer_sizes": (7,),
    "activation": "tanh",
    "solver": ["sgd", "adam"],
    "alpha": 0.5,
    "batch_size": 7,
    "learning_rate": ["invscaling", "adaptive"],
    "learning_rate_init": 0.02,
    "power_t": 0.9,
    "max_iter": 2,
    "shuffle": [False, True],
    "random_state": 11,
    "tol": 10.0,
    "momentum": 0.5,
    "nesterovs_momentum": [False, True],
    "early_stopping": [True, False],
    "validation_fraction": 0.3,
    "beta_1": 0.5,
    "beta_2": 0.9,
    "epsilon": 1e-3,
    "n_iter_no_change": 1,
    "max_fun": 3,
    "dropout": 0.5,
    "input_noise": 0.5,
    "init": "he_normal",
    "l1": 0.1,
    "augment": sn.GaussianNoise(0.4),
    "prune": 0.5,
    "prune_method": ["magnitude", "random"],
    "prune_scope": "global",
    "prune_at": ["end", "init"],
    "loss": ["poisson", "squared_error"],
    "d_model": 6,
    "n_heads": 1,
    "n_layers": 2,
    "d_ff": 5,
    "attention_dropout": 0.5,
    "pooling": "cls",
    "causal": [True, False],
    "attention_scale": 0.2,
    "sequence_shape": (2, 3),
    "padding_value": 0.0,
}
#: Parameters that cannot change a continuation by design: the switch itself, where
#: the fit runs (the same function on every device) and what it reports or writes.
SKIPPED = {"warm_start", "device", "verbose", "checkpoint"}

#: Changes that take effect but cannot change this setup's outcome.
SAME_BY_DESIGN = {
    ("mlp-sgd-prune", "prune_at"): "pruning at the end of a continuation keeps the "
    "mask the network already has (pruned weights are zero, the smallest magnitudes)",
}

SETUPS = {
    "mlp-adam": (sn.MLPClassifier, dict(hidden_layer_sizes=(5,))),
    "mlp-sgd-prune": (
        sn.MLPClassifier,
        dict(
            hidden_layer_sizes=(5,),
            solver="sgd",
            prune=0.25,
            prune_method="magnitude",
            dropout=0.2,
        ),
    ),
    "mlp-regressor": (sn.MLPRegressor, dict(hidden_layer_sizes=(5,))),
    "mlp-regressor-nll": (sn.MLPRegressor, dict(hidden_layer_sizes=(5,), loss="gaussian_nll")),
    "attention": (sn.AttentionClassifier, dict(d_model=4, n_heads=2, n_layers=1, d_ff=4)),
    "attention-regressor": (
        sn.AttentionRegressor,
        dict(d_model=4, n_heads=2, n_layers=1, d_ff=4, dropout=0.1, early_stopping=True),
    ),
}
COMMON = dict(max_iter=3, random_state=0, learning_rate_init=0.01, batch_size=16)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 6))
    y_class = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    y_value = np.abs(X[:, 0] - X[:, 3])
    return X, y_class, y_value


def _target(estimator, data):
    X, y_class, y_value = data
    return X, (y_class if is_classifier(estimator) else y_value)


def _fit_quietly(estimator, X, y, how="fit"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "fit":
            return estimator.fit(X, y)
        if is_classifier(estimator):
            return estimator.partial_fit(X, y, classes=np.unique(y))
        return estimator.partial_fit(X, y)


def _outcome(estimator, X, y):
    return np.concatenate([estimator.parameters_.ravel(), np.asarray(estimator.predict(X), float)])


def _cases():
    for setup, (cls, _) in SETUPS.items():
        for name in sorted(cls().get_params()):
            if name not in SKIPPED:
                yield pytest.param(setup, name, id=f"{setup}-{name}")


@pytest.mark.parametrize(("setup", "name"), list(_cases()))
@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_a_parameter_takes_effect_or_is_refused(setup, name, how, data):
    cls, params = SETUPS[setup]
    base = cls(**{**COMMON, **params})
    X, y = _target(base, data)
    new = _alternative(name, base.get_params()[name])
    try:
        fresh = _fit_quietly(clone(base), X, y)
        changed = _fit_quietly(clone(base).set_params(**{name: new}), X, y, how)
        unchanged = _fit_quietly(clone(base), X, y, how)
    except ValueError:
        pytest.skip(f"{name}={new!r} is not valid in this setup")
    if np.array_equal(_outcome(unchanged, X, y), _outcome(changed, X, y)):
        pytest.skip(f"{name}={new!r} changes nothing in a fresh {how} of this setup")
    if (setup, name) in SAME_BY_DESIGN:
        pytest.skip(SAME_BY_DESIGN[setup, name])

    reference = _continue(fresh, X, y, how, {})
    try:
        result = _continue(fresh, X, y, how, {name: new})
    except ValueError as exc:
        assert name in str(exc), f"the error does not name {name}: {exc}"
        return
    assert not np.array_equal(_outcome(reference, X, y), _outcome(result, X, y)), (
        f"{name}={new!r} was silently ignored by a {how} continuation"
    )


def _alternative(name, current):
    candidates = ALTERNATIVES[name]
    return (
        next(c for c in candidates if c != current) if isinstance(candidates, list) else candidates
    )


def _continue(fitted, X, y, how, changes):
    model = deepcopy(fitted)
    model.set_params(warm_start=how == "fit", **changes)
    if how == "partial_fit" and model.solver == "lbfgs":
        pytest.skip("L-BFGS has no partial_fit")
    return _fit_quietly(model, X, y, how)


def test_scipy_distribution_init_is_compared_by_value():
    """Refusing a changed ``init`` must not refuse the same distribution given again."""
    X = np.random.default_rng(1).normal(size=(30, 4))
    y = np.arange(30) % 2
    est = sn.MLPClassifier((3,), init=scipy.stats.norm(0, 0.1), max_iter=2, random_state=0)
    _fit_quietly(est, X, y)
    est.set_params(warm_start=True, init=scipy.stats.norm(0, 0.1))
    _fit_quietly(est, X, y)
