"""The compiled epoch against a NumPy re-implementation of the same steps."""

import numpy as np
import pytest
import scipy.optimize
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from stochnet.engine import SGD, Adam, MLPNetwork, Trainer
from stochnet.kernels.codes import DROPOUT_LAYER_SHIFT, STREAMS
from stochnet.random import derive_key

from . import reference as ref

KEY = derive_key(21)


def _data(n=10, n_in=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    Y = np.eye(k)[rng.integers(0, k, n)]
    sw = rng.uniform(0.5, 2.0, n)
    return X, Y, sw


def _reference_epochs(net, X, Y, sw, epochs, batch_size, optimizer, alpha, l1, noise, dropout):
    """Train a copy of ``net``'s parameters with the reference code, step by step."""
    coefs = [w.copy() for w in net.coefs]
    intercepts = [b.copy() for b in net.intercepts]
    params = coefs + intercepts
    state = [[np.zeros_like(p) for p in params] for _ in range(2)]
    n, t, losses = X.shape[0], 0, []
    for epoch in range(epochs):
        order = ref.permutation(KEY, STREAMS["shuffle"], epoch, n)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            rows = len(idx)
            t += 1
            x = X[idx] + noise * ref.normal(KEY, STREAMS["noise"], t, 0, rows * X.shape[1]).reshape(
                rows, -1
            )
            masks = []
            for h, width in enumerate(net.layer_sizes[1:-1], 1):
                keep = ref.keep_mask(
                    KEY, STREAMS["dropout"], t, h << DROPOUT_LAYER_SHIFT, rows * width, dropout
                )
                masks.append(np.where(keep, 1 / (1 - dropout), 0.0).reshape(rows, width))
            value, gc, gi = ref.mlp_loss_grad(
                coefs, intercepts, x, Y[idx], net.activation, net.loss, sw[idx], alpha, l1, masks
            )
            total += value * rows
            if optimizer == "adam":
                ref.adam_update(params, gc + gi, state[0], state[1], t, lr=0.01)
            else:
                ref.sgd_update(params, gc + gi, state[0], 0.05, 0.9, nesterov=True)
        losses.append(total / n)
    return np.concatenate([p.ravel() for p in params]), losses


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_equals_numpy_reimplementation(optimizer):
    X, Y, sw = _data()
    net = MLPNetwork((5, 6, 4, 3), activation="tanh", dropout=(0.3, 0.3))
    net.initialize("glorot_uniform", KEY)
    opt = Adam(0.01) if optimizer == "adam" else SGD(0.05, momentum=0.9, nesterov=True)
    expected, expected_losses = _reference_epochs(
        net, X, Y, sw, 3, 4, optimizer, 0.1, 0.01, 0.2, 0.3
    )
    trainer = Trainer(net, opt, batch_size=4, alpha=0.1, l1=0.01, input_noise=0.2, keys=KEY)
    losses = [trainer.run_epoch(X, Y, sw) for _ in range(3)]
    np.testing.assert_allclose(net.theta, expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-10)
    assert trainer.t == trainer.step == 9 and trainer.epoch == 3


def _fit_once(dtype=np.float64, chunk_seconds=0.25, n=300, batch_size=16):
    X, Y, _ = _data(n=n, n_in=20, k=4, seed=3)
    X, Y = X.astype(dtype), Y.astype(dtype)
    net = MLPNetwork((20, 32, 16, 4), dropout=(0.2, 0.1), dtype=dtype)
    net.initialize("he_normal", KEY)
    trainer = Trainer(
        net, Adam(), batch_size=batch_size, input_noise=0.1, keys=KEY, chunk_seconds=chunk_seconds
    )
    losses = [trainer.run_epoch(X, Y) for _ in range(2)]
    return net.theta.copy(), losses


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [16, 256])  # parallel Numba loops / threaded BLAS
def test_identical_for_one_and_two_threads(threads, dtype, batch_size):
    with threads(1), threadpool_limits(1, user_api="blas"):
        one, _ = _fit_once(dtype, n=1000, batch_size=batch_size)
    with threads(2):
        two, _ = _fit_once(dtype, n=1000, batch_size=batch_size)
    np.testing.assert_array_equal(one, two)


def test_chunking_does_not_change_the_result():
    whole, losses = _fit_once(chunk_seconds=10.0)
    chunked, chunked_losses = _fit_once(chunk_seconds=0.0)
    np.testing.assert_array_equal(whole, chunked)
    np.testing.assert_allclose(losses, chunked_losses, rtol=1e-12)


def test_float32_stays_float32():
    theta, losses = _fit_once(np.float32)
    assert theta.dtype == np.float32 and np.all(np.isfinite(losses))


def test_coefs_and_intercepts_are_live_views():
    net = MLPNetwork((3, 4, 2)).initialize("he_normal", KEY)
    net.coefs[0][0, 0] = 123.0
    net.intercepts[1][:] = -1.0
    assert net.theta[0] == 123.0
    np.testing.assert_array_equal(net.theta[-2:], -1.0)
    X = np.zeros((1, 3))
    net.coefs[1][...] = 0.0
    np.testing.assert_allclose(net.predict(X), [[0.5, 0.5]])


def test_sgd_schedules_follow_scikit_learn():
    inv = SGD(0.1, lr_schedule="invscaling", power_t=0.5)
    inv.iteration_ends(99)
    assert inv.learning_rate == pytest.approx(0.01)
    adaptive = SGD(0.1, lr_schedule="adaptive")
    assert adaptive.trigger_stopping() is False and adaptive.learning_rate == pytest.approx(0.02)
    assert SGD(0.1).trigger_stopping() is True


def test_scipy_minimize_drives_the_flat_vector():
    X, Y, _ = _data(n=60, n_in=4, k=3, seed=5)
    net = MLPNetwork((4, 8, 3), activation="tanh").initialize("glorot_uniform", KEY)
    start = net.loss_and_grad(net.theta.copy(), X, Y)[0]
    result = scipy.optimize.minimize(
        net.loss_and_grad,
        net.theta.copy(),
        args=(X, Y, None, 1e-4),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 300},
    )
    assert result.fun < 0.2 * start
    accuracy = (net.predict(X).argmax(1) == Y.argmax(1)).mean()
    assert accuracy > 0.9


def test_digits_accuracy_at_least_97_percent():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    net = MLPNetwork((64, 100, 10)).initialize("glorot_uniform", derive_key(0))
    trainer = Trainer(net, Adam(), batch_size=200, alpha=1e-4, keys=derive_key(1))
    for _ in range(60):
        trainer.run_epoch(X_train, np.eye(10)[y_train])
    assert (net.predict(X_test).argmax(1) == y_test).mean() >= 0.97
