"""The GPU encoder against the CPU encoder: LayerNorm, attention, tokens, pooling, and
whole training runs of an attention encoder (float32 within rtol 1e-4, the same masks)."""

import numpy as np
import pytest

import stochnet as sn
from stochnet.engine import SGD, AttentionNetwork, Trainer
from stochnet.kernels.cpu import attention as cpu_attention
from stochnet.kernels.cpu import layernorm as cpu_layernorm
from stochnet.kernels.cpu import tokens as cpu_tokens
from stochnet.kernels.cuda import attention, layernorm, tokens
from stochnet.kernels.shared.records import TokenInput
from stochnet.random import derive_key

RNG = np.random.default_rng(8)


def _both(function_name, cpu_module, gpu_module, inputs, outputs):
    """Run a kernel on both backends on copies of ``outputs``; returns both results."""
    results = []
    for module in (cpu_module, gpu_module):
        outs = [o.copy() for o in outputs]
        getattr(module, function_name)(*inputs(outs))
        results.append(outs)
    return results


def _assert_close(results, rtol=1e-12, atol=1e-14):
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def test_layernorm_matches_cpu(geometry):
    x, gamma, beta, dy = (
        RNG.normal(size=(5, 6)),
        RNG.normal(size=6),
        RNG.normal(size=6),
        RNG.normal(size=(5, 6)),
    )
    outs = [np.empty((5, 6)), np.empty(5), np.empty((5, 6))]
    fwd = _both("layernorm_forward", cpu_layernorm, layernorm, lambda o: (x, gamma, beta, *o), outs)
    _assert_close(fwd)
    xhat, rstd, _ = fwd[0]
    outs = [np.empty(6), np.empty(6), dy.copy()]
    _assert_close(_both("layernorm_backward", cpu_layernorm, layernorm,
                        lambda o: (o[2], gamma, xhat, rstd, *o), outs))  # fmt: skip


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dropped", [False, True])
def test_attention_matches_cpu(geometry, causal, dropped):
    shape = (2, 2, 4, 3)
    q, k, v, do = (RNG.normal(size=shape) for _ in range(4))
    lengths = np.array([4, 2])
    probs = _both(
        "attention_probs",
        cpu_attention,
        attention,
        lambda o: (q, k, lengths, causal, 0.7, *o),
        [np.empty((2, 2, 4, 4))],
    )
    _assert_close(probs)
    p = probs[0][0]
    pmask = (RNG.random(p.shape) > 0.3) / 0.7 if dropped else np.empty((0, 2, 4, 4))
    pd = p * pmask if dropped else p
    _assert_close(
        _both(
            "attention_output", cpu_attention, attention, lambda o: (pd, v, *o), [np.empty(shape)]
        )
    )
    grads = [np.empty(shape), np.empty(shape), np.empty(shape), np.empty((2, 2, 4, 4))]
    _assert_close(_both("attention_backward", cpu_attention, attention,
                        lambda o: (q, k, v, p, pd, pmask, do, 0.7, *o), grads))  # fmt: skip
    qkv = RNG.normal(size=(8, 9))
    _assert_close(_both("heads_from_rows", cpu_attention, attention,
                        lambda o: (qkv, 3, *o), [np.empty((2, 3, 4, 1))]))  # fmt: skip
    _assert_close(
        _both("rows_from_heads", cpu_attention, attention, lambda o: (q, *o, 3), [np.zeros((8, 9))])
    )


@pytest.mark.parametrize("per_token", [False, True])
def test_tokens_match_cpu(geometry, per_token):
    rows, length, d_in, width = 3, 4, 2, 5
    x = RNG.normal(size=(rows, length * d_in))
    w = RNG.normal(size=(length if per_token else 1, d_in, width))
    pos, dh = RNG.normal(size=(length, width)), RNG.normal(size=(rows * length, width))
    lengths = np.array([4, 1, 0])
    _assert_close(_both("embed_forward", cpu_tokens, tokens, lambda o: (x, w, pos, *o),
                        [np.empty((rows * length, width))]))  # fmt: skip
    _assert_close(_both("embed_backward", cpu_tokens, tokens, lambda o: (x, dh, *o),
                        [np.empty(w.shape), np.empty(pos.shape)]))  # fmt: skip
    for pooling in (0, 1):
        _assert_close(
            _both(
                "pool_forward",
                cpu_tokens,
                tokens,
                lambda o, p=pooling: (dh, lengths, p, *o),
                [np.empty((rows, width))],
            )
        )
        _assert_close(
            _both(
                "pool_backward",
                cpu_tokens,
                tokens,
                lambda o, p=pooling: (x[:, :width], lengths, p, *o),
                [np.empty((rows * length, width))],
            )
        )
    _assert_close(
        _both("clear_padding", cpu_tokens, tokens, lambda o: (*o, lengths, d_in), [x.copy()])
    )


def test_encoder_training_on_cuda_equals_cpu():
    """SGD, not Adam: the key bias has an exactly zero gradient (softmax ignores a shift
    shared by a row's scores), so its computed gradient is rounding noise, which Adam's
    normalisation would turn into steps of ±lr that differ between the backends."""
    rng = np.random.default_rng(0)
    X = TokenInput(
        rng.normal(size=(8, 3 * 2)).astype(np.float32), np.array([3, 2, 3, 1, 3, 3, 2, 3])
    )
    Y = np.eye(2, dtype=np.float32)[np.arange(8) % 2]
    runs = []
    for device in ("cpu", "cuda"):
        net = AttentionNetwork(3, 2, 2, d_model=4, n_heads=2, n_layers=1, d_ff=6,
                               attention_dropout=0.2, dropout=0.1, dtype=np.float32)  # fmt: skip
        net.initialize("glorot_uniform", derive_key(0)).to(device)
        trainer = Trainer(
            net,
            SGD(0.1, "constant", 0.9),
            batch_size=4,
            keys=derive_key(1),
            input_noise=0.05,
            alpha=1e-3,
        )
        loss = trainer.run_epoch(X, Y)
        first_two = TokenInput(X.values[:2], X.lengths[:2])
        runs.append((net.theta.copy(), loss, net.predict(X), net.attention_weights(first_two)))
    cpu, gpu = runs
    np.testing.assert_allclose(gpu[0], cpu[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gpu[1], cpu[1], rtol=1e-5)
    for got, want in zip(gpu[2:], cpu[2:], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_attention_estimator_on_cuda_equals_cpu():
    X = np.random.default_rng(2).normal(size=(8, 3))  # tabular: 3 tokens, one embedding each
    y = np.arange(8) % 2
    fits = []
    for device in ("cpu", "cuda"):
        clf = sn.AttentionClassifier(d_model=4, n_heads=2, n_layers=1, d_ff=4, solver="sgd",
                                     batch_size=4, max_iter=1, random_state=0,
                                     device=device)  # fmt: skip
        with pytest.warns(Warning):
            fits.append(clf.fit(X, y))
    np.testing.assert_allclose(fits[1].parameters_, fits[0].parameters_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fits[1].predict_proba(X), fits[0].predict_proba(X), rtol=1e-4)


def test_attention_per_source_seeds_on_cuda_equal_cpu():
    X = np.random.default_rng(3).normal(size=(8, 3))
    y = np.arange(8) % 2
    fits = []
    for device in ("cpu", "cuda"):
        clf = sn.AttentionClassifier(d_model=4, n_heads=2, n_layers=1, d_ff=4, dropout=0.2,
                                     attention_dropout=0.2, batch_size=4, max_iter=1,
                                     random_state={"default": 0, "dropout": 5},
                                     device=device)  # fmt: skip
        with pytest.warns(Warning):
            fits.append(clf.fit(X, y))
    np.testing.assert_allclose(fits[1].parameters_, fits[0].parameters_, rtol=1e-4, atol=1e-6)
    samples = [f.predict_uncertainty(X, mc_samples=2, random_state=1).mean for f in fits]
    np.testing.assert_allclose(samples[1], samples[0], rtol=1e-4, atol=1e-6)
