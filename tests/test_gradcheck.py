"""Analytic gradients of the whole MLP against central finite differences (float64)."""

import numpy as np
import pytest

from stochnet.engine import MLPNetwork
from stochnet.kernels.codes import ACTIVATIONS, DROPOUT_LAYER_SHIFT, LOSSES, STREAMS
from stochnet.random import derive_key

from . import reference as ref

RNG = np.random.default_rng(1)
KEY = derive_key(5)


def _problem(activation, loss, dropout=(), n=7, sizes=(3, 5, 4)):
    n_targets = 2
    n_out = (
        2 * n_targets if loss == "gaussian_nll" else n_targets + (loss == "softmax_cross_entropy")
    )
    net = MLPNetwork((*sizes, n_out), activation=activation, loss=loss, dropout=dropout)
    net.initialize(("normal", 0.7), KEY)
    net.intercepts[0][...] = RNG.normal(size=sizes[1]) * 0.3
    X = RNG.normal(size=(n, sizes[0]))
    k = net.n_targets
    if loss == "softmax_cross_entropy":
        Y = np.eye(k)[RNG.integers(0, k, n)]
    elif loss == "binary_cross_entropy":
        Y = RNG.integers(0, 2, (n, k)).astype(float)
    elif loss == "poisson":
        Y = RNG.poisson(1.5, (n, k)).astype(float)
    else:
        Y = RNG.normal(size=(n, k))
    return net, X, Y


def _relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-12)


def _finite_differences(f, theta, h=1e-5):
    out = np.empty_like(theta)
    for i in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        out[i] = (f(tp) - f(tm)) / (2 * h)
    return out


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradient_matches_finite_differences(activation, loss):
    net, X, Y = _problem(activation, loss)
    sw = RNG.uniform(0.5, 2.0, X.shape[0])
    theta = net.theta.copy()

    def f(t):
        return net.loss_and_grad(t, X, Y, sw, alpha=0.3, l1=0.05)[0]

    _value, grad = net.loss_and_grad(theta, X, Y, sw, alpha=0.3, l1=0.05)
    assert _relative_error(grad, _finite_differences(f, theta)) < 1e-6


@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "squared_error"])
def test_gradient_through_fixed_dropout_masks(loss):
    net, X, Y = _problem("tanh", loss, dropout=(0.4, 0.25), sizes=(3, 6, 5))
    theta = net.theta.copy()

    def f(t):
        return net.loss_and_grad(t, X, Y, dropout=True, key=KEY, step=3)[0]

    _, grad = net.loss_and_grad(theta, X, Y, dropout=True, key=KEY, step=3)
    _, no_dropout = net.loss_and_grad(theta, X, Y)
    assert not np.allclose(grad, no_dropout)
    assert _relative_error(grad, _finite_differences(f, theta)) < 1e-6


def _masks(net, rows, step):
    masks = []
    for h, (p, width) in enumerate(zip(net.dropout, net.layer_sizes[1:-1], strict=False), 1):
        keep = ref.keep_mask(
            KEY, STREAMS["dropout"], step, h << DROPOUT_LAYER_SHIFT, rows * width, p
        )
        masks.append(np.where(keep, 1 / (1 - p), 0.0).reshape(rows, width))
    return masks


@pytest.mark.parametrize("loss", list(LOSSES))
def test_loss_and_grad_equal_the_reference(loss):
    net, X, Y = _problem("gelu", loss, dropout=(0.3, 0.5), sizes=(3, 6, 5))
    sw = RNG.uniform(0.5, 2.0, X.shape[0])
    value, grad = net.loss_and_grad(
        net.theta.copy(), X, Y, sw, alpha=0.1, l1=0.02, dropout=True, key=KEY, step=4
    )
    ref_value, g_coefs, g_intercepts = ref.mlp_loss_grad(
        [w.copy() for w in net.coefs],
        [b.copy() for b in net.intercepts],
        X,
        Y,
        "gelu",
        loss,
        sw,
        alpha=0.1,
        l1=0.02,
        masks=_masks(net, X.shape[0], 4),
    )
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    expected = np.concatenate([g.ravel() for g in g_coefs + g_intercepts])
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-13)


def test_loss_and_grad_over_several_chunks(monkeypatch):
    import stochnet.engine.network as network

    net, X, Y = _problem("relu", "softmax_cross_entropy", n=50)
    whole = net.loss_and_grad(net.theta.copy(), X, Y)
    monkeypatch.setattr(network, "PREDICT_CHUNK_ROWS", 8)
    chunked = MLPNetwork(net.layer_sizes, "relu")
    chunked.theta[...] = net.theta
    value, grad = chunked.loss_and_grad(net.theta.copy(), X, Y)
    np.testing.assert_allclose(value, whole[0], rtol=1e-13)
    np.testing.assert_allclose(grad, whole[1], rtol=1e-12, atol=1e-15)


def test_sparse_input_gradient_equals_dense():
    import scipy.sparse

    net, X, Y = _problem("tanh", "softmax_cross_entropy", n=12)
    X[np.abs(X) < 0.7] = 0.0
    dense = net.loss_and_grad(net.theta.copy(), X, Y, alpha=0.1)
    sparse = net.loss_and_grad(net.theta.copy(), scipy.sparse.csr_matrix(X), Y, alpha=0.1)
    np.testing.assert_allclose(sparse[0], dense[0], rtol=1e-13)
    np.testing.assert_allclose(sparse[1], dense[1], rtol=1e-12, atol=1e-15)
