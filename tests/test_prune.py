"""Random and magnitude pruning masks, and pruned training."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import stochnet as sn

from . import reference as ref

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("amount", [0.0, 0.25, 0.8, 0.999])
def test_random_mask_removes_exactly_round_amount_size(amount):
    m = sn.prune.random_mask((13, 17), amount, seed=1)
    assert m.shape == (13, 17) and (~m).sum() == round(amount * 13 * 17)


def test_random_mask_is_uniform_over_positions():
    counts = np.zeros(10)
    for step in range(3000):
        counts += ~sn.prune.random_mask(10, 0.3, seed=0, step=step)
    # Each position is removed with probability 0.3: 4-sigma band of a binomial.
    assert np.all(np.abs(counts - 900) < 4 * np.sqrt(3000 * 0.3 * 0.7))


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_magnitude_mask_matches_the_reference(scope):
    arrays = [RNG.normal(size=(4, 5)), RNG.normal(size=(5, 3))]
    masks = sn.prune.magnitude_mask(arrays, 0.4, scope=scope)
    if scope == "global":
        expected = ref.magnitude_keep(arrays, 0.4)
    else:
        expected = np.concatenate([ref.magnitude_keep([a], 0.4) for a in arrays])
    np.testing.assert_array_equal(np.concatenate([m.ravel() for m in masks]), expected)


@pytest.mark.parametrize("amount", [-0.1, 1.0, "half"])
def test_bad_amounts(amount):
    with pytest.raises(ValueError, match="amount"):
        sn.prune.random_mask(10, amount, seed=0)
    with pytest.raises(ValueError, match="prune"):
        sn.MLPClassifier(prune=amount).fit([[0.0], [1.0]], [0, 1])


def _digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("method", ["random", "magnitude"])
@pytest.mark.parametrize("scope", ["layer", "global"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_pruned_weights_stay_zero_through_training(method, scope, solver):
    X, y = _digits()
    clf = sn.MLPClassifier(
        (32,),
        solver=solver,
        prune=0.7,
        prune_method=method,
        prune_scope=scope,
        max_iter=15,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.sparsity_ == pytest.approx(0.7, abs=1e-3)
    for w, keep in zip(clf.coefs_, clf.masks_, strict=True):
        assert np.all(w[~keep] == 0.0) and np.count_nonzero(w[keep]) == keep.sum()
        if scope == "layer":
            assert (~keep).mean() == pytest.approx(0.7, abs=1e-2)
    if solver != "lbfgs":
        n_coef = clf._network.plan.n_coef
        for state in clf._trainer.optimizer.state:
            if state.size:
                assert np.all(state[:n_coef][clf._network.mask == 0] == 0.0)
    assert all(np.count_nonzero(b) > 0 for b in clf.intercepts_)  # biases never pruned


def test_prune_at_end_and_iterative_fine_tuning():
    X, y = _digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = sn.MLPClassifier((32,), max_iter=30, random_state=0).fit(X, y)
        clf.prune_weights(0.5)
        first = [m.copy() for m in clf.masks_]
        clf.set_params(warm_start=True, max_iter=10).fit(X, y)
        clf.prune_weights(0.8)
        for old, new in zip(first, clf.masks_, strict=True):
            assert np.all(new[~old] == False)  # noqa: E712 - pruned stays pruned
        just_pruned = clf.score(X, y)
        clf.fit(X, y)
    assert clf.sparsity_ == pytest.approx(0.8, abs=1e-3)
    assert all(np.all(w[~m] == 0) for w, m in zip(clf.coefs_, clf.masks_, strict=True))
    assert clf.score(X, y) > just_pruned  # fine-tuning recovers accuracy
    end = sn.MLPClassifier((32,), max_iter=5, prune=0.6, prune_at="end", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        end.fit(X, y)
    assert end.sparsity_ == pytest.approx(0.6, abs=1e-3)


def test_pruning_is_reproducible():
    X, y = _digits()
    params = dict(hidden_layer_sizes=(16,), prune=0.5, max_iter=2, random_state=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = sn.MLPClassifier(**params).fit(X, y)
        b = sn.MLPClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(a.parameters_, b.parameters_)
