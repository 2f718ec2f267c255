"""Whole epochs in one compiled call (``Trainer.run_epochs``) give the bits of one epoch a
call: the same parameters, optimiser state, counters, losses and stopping epoch."""

import warnings

import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import stochnet as sn
from stochnet.engine import SGD, Adam, AttentionNetwork, MLPNetwork, Trainer
from stochnet.engine.network import Network
from stochnet.engine.trainer import LossRule
from stochnet.estimators import _epochs
from stochnet.kernels.shared.records import TokenInput
from stochnet.random import derive_key

KEY = derive_key(5)
NEVER = LossRule(tol=0.0, n_iter_no_change=10**9, best_loss=np.inf, no_improvement=0, max_epochs=6)


def _rows(n=90, n_in=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    return X, np.eye(k)[rng.integers(0, k, n)], rng.uniform(0.5, 2.0, n)


def _mlp():
    return MLPNetwork((6, 12, 3), dropout=(0.2,)).initialize("he_normal", KEY)


def _encoder():
    net = AttentionNetwork(3, 2, 3, d_model=8, n_heads=2, n_layers=1, d_ff=16, dropout=0.1)
    return net.initialize("glorot_uniform", KEY)


def _trainers(network, optimizer, **options):
    """Two trainers of two copies of ``network`` (the second learns that whole epochs
    fit in a call)."""
    made = []
    for _ in range(2):
        net = network()
        trainer = Trainer(net, optimizer(), keys=KEY, **options)
        made.append(trainer)
    made[1]._batches_per_call = 10**6
    return made


def _state(trainer):
    return (
        trainer.network.theta.copy(),
        [s.copy() for s in trainer.optimizer.state],
        (trainer.t, trainer.step, trainer.epoch),
    )


def _assert_same(a, b):
    (theta_a, opt_a, counters_a), (theta_b, opt_b, counters_b) = _state(a), _state(b)
    np.testing.assert_array_equal(theta_a, theta_b)
    for x, y in zip(opt_a, opt_b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert counters_a == counters_b


CASES = {
    "adam, dropout, noise, weights": (
        _mlp, lambda: Adam(0.01), dict(batch_size=16, input_noise=0.1, alpha=0.01, l1=0.001),
        "weights",
    ),
    "sgd, momentum, no shuffle": (
        _mlp, lambda: SGD(0.05, momentum=0.9, nesterov=True), dict(batch_size=32, shuffle=False),
        None,
    ),
    "adam, some rows": (_mlp, lambda: Adam(0.01), dict(batch_size=20), "rows"),
    "adam, some rows, no shuffle": (
        _mlp, lambda: Adam(0.01), dict(batch_size=20, shuffle=False), "rows",
    ),
    "sparse input": (_mlp, lambda: Adam(0.01), dict(batch_size=16), "sparse"),
    "encoder, sequences": (_encoder, lambda: Adam(0.01), dict(batch_size=16), "sequences"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_whole_epochs_are_the_bits_of_one_epoch_a_call(case):
    network, optimizer, options, extra = CASES[case]
    X, Y, sw = _rows()
    rows = weights = None
    if extra == "weights":
        weights = sw
    elif extra == "rows":
        rows = np.arange(5, 80, dtype=np.int64)
    elif extra == "sparse":
        X = scipy.sparse.csr_matrix(np.where(X > 0.3, X, 0.0))
    elif extra == "sequences":  # padded: 1 to 3 tokens
        lengths = np.arange(90, dtype=np.int64) % 3 + 1
        X = TokenInput(np.ascontiguousarray(X), lengths)
    one, many = _trainers(network, optimizer, **options)
    expected = [one.run_epoch(X, Y, weights, rows) for _ in range(NEVER.max_epochs)]
    losses = many.run_epochs(X, Y, weights, rows, NEVER)
    assert losses == expected  # every bit of every epoch's loss
    _assert_same(one, many)
    # and the next epoch, one at a time again, goes on from the same point
    assert one.run_epoch(X, Y, weights, rows) == many.run_epoch(X, Y, weights, rows)
    _assert_same(one, many)


def test_the_call_stops_where_the_rule_does():
    X, Y, _ = _rows()
    one, many = _trainers(_mlp, lambda: Adam(0.01), batch_size=16)
    rule = LossRule(tol=10.0, n_iter_no_change=2, best_loss=np.inf, no_improvement=0,
                    max_epochs=50)  # fmt: skip
    losses = many.run_epochs(X, Y, None, None, rule)
    # tol=10: only the first epoch beats the best; the fourth is the third without
    assert len(losses) == 4
    assert losses == [one.run_epoch(X, Y) for _ in range(4)]
    _assert_same(one, many)
    assert many.run_epochs(X, Y, None, None, rule._replace(max_epochs=3)) is not None
    assert many.epoch == 7


def test_no_whole_epochs_before_the_trainer_knows_their_speed_or_without_a_rule():
    X, Y, _ = _rows()
    trainer = Trainer(_mlp(), Adam(), batch_size=16, keys=KEY)
    assert trainer.run_epochs(X, Y, None, None, NEVER) is None  # a new trainer: 1 batch a call
    assert trainer.run_epochs(X, Y, None, None, None) is None
    trainer._batches_per_call = 10**6
    assert trainer.run_epochs(X, Y, None, None, NEVER._replace(max_epochs=1)) is None
    assert (trainer.t, trainer.epoch) == (0, 0)  # nothing ran


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


def _fit(make, X, y, whole_epochs, monkeypatch):
    """Fit ``make()``, with or without whole epochs per call; returns the model, the
    compiled calls it made (the room for epochs of each) and its warnings."""
    calls = []
    original = Network.train_batches

    def counted(network):
        kernel = original.fget(network)

        def call(*args):
            calls.append(args[-1].losses.shape[0])
            return kernel(*args)

        return call

    with monkeypatch.context() as patch:
        patch.setattr(Network, "train_batches", property(counted))
        if not whole_epochs:
            patch.setattr(_epochs.EpochBookkeeping, "rule", lambda self: None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model = make().fit(X, y)
    return model, calls, [str(w.message) for w in caught]


def _image_crop():
    return sn.RandomCrop(6, padding=1, image_shape=(8, 8))


ESTIMATORS = {
    "max_iter": lambda: sn.MLPClassifier((16,), max_iter=30, random_state=0),
    "tol": lambda: sn.MLPClassifier((16,), max_iter=500, tol=5e-2, n_iter_no_change=3,
                                    random_state=1),
    "n_iter_no_change=inf": lambda: sn.MLPClassifier((16,), max_iter=15, n_iter_no_change=np.inf,
                                                     random_state=1),
    "adaptive sgd": lambda: sn.MLPClassifier((16,), solver="sgd", learning_rate="adaptive",
                                             tol=0.2, n_iter_no_change=2, max_iter=80,
                                             random_state=2),
    "constant sgd, dropout": lambda: sn.MLPClassifier((16,), solver="sgd", dropout=0.2,
                                                      max_iter=25, random_state=3),
    "crops": lambda: sn.MLPClassifier((16,), augment=_image_crop(), max_iter=20, random_state=4),
    "regressor, gaussian nll": lambda: sn.MLPRegressor(hidden_layer_sizes=(16,),
                                                       loss="gaussian_nll", max_iter=20,
                                                       random_state=5),
    "attention": lambda: sn.AttentionClassifier(d_model=8, n_heads=2, n_layers=1, max_iter=12,
                                                random_state=6),
}  # fmt: skip

RECORDED = ("n_iter_", "t_", "loss_", "loss_curve_", "best_loss_", "_no_improvement_count")


@pytest.mark.parametrize("case", sorted(ESTIMATORS))
def test_an_estimator_fits_the_same_model_with_whole_epochs_per_call(case, monkeypatch):
    X, y = _digits()
    if "regressor" in case:
        y = y.astype(float)
    if case == "attention":
        X = X[:150]
        y = y[:150]
    make = ESTIMATORS[case]
    expected, calls_one, _ = _fit(make, X, y, False, monkeypatch)
    model, calls, _ = _fit(make, X, y, True, monkeypatch)
    np.testing.assert_array_equal(model.parameters_, expected.parameters_)
    for name in RECORDED:
        assert getattr(model, name) == getattr(expected, name), name
    rate = model._trainer.optimizer.learning_rate
    assert rate == expected._trainer.optimizer.learning_rate
    assert max(calls_one) == 0 and max(calls) > 1  # whole epochs did run in one call
    assert len(calls) < len(calls_one)
    # a warm start goes on from the same point
    more = dict(warm_start=True, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.set_params(**more).fit(X, y)
        expected.set_params(**more).fit(X, y)
    np.testing.assert_array_equal(model.parameters_, expected.parameters_)


@pytest.mark.parametrize(
    "settings",
    [
        dict(early_stopping=True),
        dict(verbose=True),
        dict(solver="sgd", learning_rate="invscaling"),
    ],
    ids=["early stopping", "verbose", "invscaling"],
)
def test_epochs_that_need_python_at_their_end_run_one_a_call(settings, monkeypatch, capsys):
    X, y = _digits()
    _, calls, _ = _fit(lambda: sn.MLPClassifier((8,), max_iter=6, **settings), X, y, True,
                       monkeypatch)  # fmt: skip
    assert max(calls) == 0


def test_a_diverging_call_goes_back_and_diverges_where_one_epoch_a_call_does(monkeypatch):
    X, y = _digits()

    def make():  # a linear network whose loss grows without bound from epoch 7 on
        return sn.MLPRegressor(hidden_layer_sizes=(16,), activation="identity", solver="sgd",
                               learning_rate_init=0.04, max_iter=60, random_state=0)  # fmt: skip

    expected, _, caught_one = _fit(make, X, y.astype(float), False, monkeypatch)
    model, calls, caught = _fit(make, X, y.astype(float), True, monkeypatch)
    assert caught == caught_one and "diverged at epoch 7" in caught[0]
    assert max(calls) > 1
    np.testing.assert_array_equal(model.parameters_, expected.parameters_)
    assert np.all(np.isfinite(model.parameters_))
    assert model.loss_curve_ == expected.loss_curve_ and not np.isfinite(model.loss_)
    assert model.n_iter_ == expected.n_iter_ == 7
