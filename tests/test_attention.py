"""Attention engine: kernels and the whole encoder against NumPy float64 references and
central finite differences."""

import numba
import numpy as np
import pytest

from stochnet.engine import AttentionNetwork
from stochnet.kernels.codes import DROPOUT_LAYER_SHIFT, POOLING, STREAMS
from stochnet.kernels.cpu import attention as att
from stochnet.kernels.cpu import layernorm as ln
from stochnet.kernels.cpu import tokens
from stochnet.kernels.shared.records import TokenInput
from stochnet.random import derive_key

from . import reference as ref

RNG = np.random.default_rng(11)
KEY = derive_key(3)


def _numeric_gradients(objective, arrays, eps=1e-6):
    """Central differences of ``objective()`` with respect to each array (edited in
    place and restored)."""
    result = []
    for arr in arrays:
        numeric = np.empty_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            up = objective()
            arr[idx] = old - eps
            down = objective()
            arr[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        result.append(numeric)
    return result


def _rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)


# ----------------------------------------------------------------- kernels


def test_layernorm_forward_backward_match_reference():
    x = RNG.normal(size=(9, 6)) * 3 + 1
    gamma, beta = RNG.normal(size=6), RNG.normal(size=6)
    xhat, rstd, y = np.empty_like(x), np.empty(9), np.empty_like(x)
    ln.layernorm_forward(x, gamma, beta, xhat, rstd, y)
    np.testing.assert_allclose(y, ref.layernorm(x, gamma, beta), rtol=1e-12, atol=1e-12)
    dy = RNG.normal(size=x.shape)
    dgamma, dbeta, dx = np.empty(6), np.empty(6), np.empty_like(x)
    ln.layernorm_backward(dy, gamma, xhat, rstd, dgamma, dbeta, dx)
    expected = ref.layernorm_backward(x, gamma, dy)
    for got, want in zip((dx, dgamma, dbeta), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


def _heads(rows=3, heads=2, length=5, dk=4):
    return [RNG.normal(size=(rows, heads, length, dk)) for _ in range(3)]


def _kernel_attention(q, k, v, lengths, causal, scale, keep=None):
    p = np.empty((*q.shape[:3], q.shape[2]))
    att.attention_probs(q, k, lengths, causal, scale, p)
    pd = p if keep is None else p * keep
    o = np.empty_like(q)
    att.attention_output(pd, v, o)
    return o, p, pd


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("dropout", [False, True])
def test_attention_kernels_match_reference(causal, with_lengths, dropout):
    q, k, v = _heads()
    rows, heads, length, _ = q.shape
    lengths = np.array([5, 2, 0]) if with_lengths else np.empty(0, np.int64)
    keep = (RNG.random((rows, heads, length, length)) > 0.3) / 0.7 if dropout else None
    scale = 0.37
    o, p, pd = _kernel_attention(q, k, v, lengths, causal, scale, keep)
    ref_lengths = lengths if with_lengths else None
    o_ref, p_ref = ref.attention(q, k, v, ref_lengths, causal, scale, keep)
    np.testing.assert_allclose(p, p_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(o, o_ref, rtol=1e-12, atol=1e-14)
    do = RNG.normal(size=o.shape)
    dq, dk_, dv = (np.empty_like(q) for _ in range(3))
    pmask = keep if dropout else np.empty((0, heads, length, length))
    att.attention_backward(q, k, v, p, pd, pmask, do, scale, dq, dk_, dv, np.empty_like(p))
    expected = ref.attention_backward(q, k, v, do, ref_lengths, causal, scale, keep)
    for got, want in zip((dq, dk_, dv), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)


def test_fully_masked_rows_are_zero_and_huge_scores_are_stable():
    q, k, v = _heads(rows=2)
    q *= 1e4  # scores ~1e8: without subtracting the row max, exp overflows
    o, p, _ = _kernel_attention(q, k, v, np.array([0, 3]), False, 1.0)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(o))
    assert np.all(p[0] == 0) and np.all(o[0] == 0)
    np.testing.assert_allclose(p[1].sum(-1), 1.0)
    assert np.all(p[1][..., 3:] == 0)


def _attention_objective(q, k, v, lengths, causal, r):
    o, _, _ = _kernel_attention(q, k, v, lengths, causal, 0.5)
    return float((o * r).sum())


@pytest.mark.parametrize("causal", [False, True])
def test_attention_backward_matches_finite_differences(causal):
    q, k, v = _heads(rows=2, length=4, dk=3)
    lengths = np.array([4, 3])
    r = RNG.normal(size=q.shape)
    _, p, pd = _kernel_attention(q, k, v, lengths, causal, 0.5)
    grads = [np.empty_like(q) for _ in range(3)]
    att.attention_backward(q, k, v, p, pd, np.empty((0, 2, 4, 4)), r, 0.5, *grads, np.empty_like(p))
    numeric = _numeric_gradients(
        lambda: _attention_objective(q, k, v, lengths, causal, r), (q, k, v)
    )
    for grad, want in zip(grads, numeric, strict=True):
        assert _rel(grad, want) < 1e-6


def test_layernorm_backward_matches_finite_differences():
    x = RNG.normal(size=(4, 5))
    gamma, beta, r = RNG.normal(size=5), RNG.normal(size=5), RNG.normal(size=(4, 5))

    def objective(x, gamma, beta):
        y = np.empty_like(x)
        ln.layernorm_forward(x, gamma, beta, np.empty_like(x), np.empty(4), y)
        return float((y * r).sum())

    xhat, rstd = np.empty_like(x), np.empty(4)
    ln.layernorm_forward(x, gamma, beta, xhat, rstd, np.empty_like(x))
    grads = [np.empty_like(x), np.empty(5), np.empty(5)]
    ln.layernorm_backward(r.copy(), gamma, xhat, rstd, grads[1], grads[2], grads[0])
    numeric = _numeric_gradients(lambda: objective(x, gamma, beta), (x, gamma, beta))
    for grad, want in zip(grads, numeric, strict=True):
        assert _rel(grad, want) < 1e-6


@pytest.mark.parametrize("per_token", [False, True])
@pytest.mark.parametrize("pooling", ["mean", "first"])
def test_embedding_and_pooling_kernels_match_reference(per_token, pooling):
    rows, length, d_in, d = 3, 4, 2, 5
    x = RNG.normal(size=(rows, length * d_in))
    w = RNG.normal(size=(length if per_token else 1, d_in, d))
    pos = RNG.normal(size=(length, d))
    h = np.empty((rows * length, d))
    tokens.embed_forward(x, w, pos, h)
    x3 = x.reshape(rows, length, d_in)
    expected = np.einsum("bti,tid->btd", x3, np.broadcast_to(w, (length, d_in, d))) + pos
    np.testing.assert_allclose(h.reshape(rows, length, d), expected, rtol=1e-12)
    dh = RNG.normal(size=h.shape)
    gw, gpos = np.empty_like(w), np.empty_like(pos)
    tokens.embed_backward(x, dh, gw, gpos)
    gw_ref = np.einsum("bti,btd->tid", x3, dh.reshape(rows, length, d))
    np.testing.assert_allclose(gw, gw_ref if per_token else gw_ref.sum(0)[None], rtol=1e-12)
    np.testing.assert_allclose(gpos, dh.reshape(rows, length, d).sum(0), rtol=1e-12)
    lengths = np.array([4, 1, 0])
    out = np.empty((rows, d))
    tokens.pool_forward(h, lengths, POOLING[pooling], out)
    np.testing.assert_allclose(out, ref.pool(h.reshape(rows, length, d), lengths, pooling))
    dout = RNG.normal(size=out.shape)
    tokens.pool_backward(dout, lengths, POOLING[pooling], dh)
    numeric = np.einsum("bd,btd->btd", dout, np.ones((rows, length, d)))
    if pooling == "mean":
        valid = np.arange(length)[None, :] < lengths[:, None]
        numeric = numeric * valid[..., None] / np.maximum(lengths, 1)[:, None, None]
    else:
        numeric[:, 1:] = 0
    np.testing.assert_allclose(dh.reshape(rows, length, d), numeric)


# ------------------------------------------------------------ whole encoder

CONFIGS = {
    "sequence": dict(per_token=False, causal=False, pooling="mean", lengths=False),
    "tabular-first": dict(per_token=True, causal=False, pooling="first", lengths=False),
    "causal-padded": dict(per_token=False, causal=True, pooling="mean", lengths=True),
}


def _encoder(
    name,
    dropout=0.0,
    attention_dropout=0.0,
    loss="softmax_cross_entropy",
    n_outputs=3,
    dtype=np.float64,
):
    c = CONFIGS[name]
    d_in = 1 if c["per_token"] else 2
    net = AttentionNetwork(5, d_in, n_outputs, d_model=8, n_heads=2, n_layers=2, d_ff=12,
                           per_token=c["per_token"], causal=c["causal"], pooling=c["pooling"],
                           dropout=dropout, attention_dropout=attention_dropout,
                           activation="gelu", loss=loss, dtype=dtype)  # fmt: skip
    net.initialize(("normal", 0.4), KEY)
    net.theta[net.plan.n_coef :] += RNG.normal(size=net.theta.size - net.plan.n_coef) * 0.2
    n = 6
    x = RNG.normal(size=(n, 5, d_in))
    lengths = np.array([5, 3, 1, 4, 5, 2]) if c["lengths"] else None
    X = TokenInput(
        np.ascontiguousarray(x.reshape(n, -1), dtype=dtype),
        np.empty(0, np.int64) if lengths is None else lengths,
    )
    y = np.eye(n_outputs)[RNG.integers(0, n_outputs, n)].astype(dtype)
    cfg = dict(
        heads=2,
        n_layers=2,
        causal=c["causal"],
        scale=net.plan.scale,
        pooling=c["pooling"],
        activation="gelu",
    )
    return net, X, x, lengths, y, cfg


def _reference_masks(net, rows, step, rate_attn, rate):
    """The encoder's dropout factors of batch ``step``, from the Philox reference."""
    p = net.plan
    shapes = {
        0: (rows, p.heads, p.length, p.length),
        1: (rows, p.length, p.d_model),
        2: (rows, p.length, p.d_ff),
        3: (rows, p.length, p.d_model),
    }
    masks = {}
    for layer in range(p.n_layers):
        for site, shape in shapes.items():
            rate_site = rate_attn if site == 0 else rate
            if rate_site == 0:
                continue
            offset = (4 * layer + site + 1) << DROPOUT_LAYER_SHIFT
            keep = ref.keep_mask(
                KEY, STREAMS["dropout"], step, offset, int(np.prod(shape)), rate_site
            )
            masks[(layer, site)] = keep.reshape(shape) / (1 - rate_site)
    return masks


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("dropout", [False, True])
def test_encoder_forward_and_backward_match_reference(name, dropout):
    rates = (0.3, 0.2) if dropout else (0.0, 0.0)
    net, X, x, lengths, y, cfg = _encoder(name, dropout=rates[1], attention_dropout=rates[0])
    step = 7
    masks = _reference_masks(net, x.shape[0], step, *rates) if dropout else None
    z_ref, cache = ref.encoder_forward(net.named_parameters(), x, cfg, lengths, masks)
    probs = net.predict(X, dropout=dropout, key=KEY, step=step)
    np.testing.assert_allclose(
        probs, ref.predictions("softmax_cross_entropy", z_ref), rtol=1e-10, atol=1e-13
    )
    loss, grad = net.loss_and_grad(net.theta.copy(), X, y, dropout=dropout, key=KEY, step=step)
    n = y.shape[0]
    dz = ref.output_delta("softmax_cross_entropy", z_ref, y) / n
    g_ref = ref.encoder_backward(net.named_parameters(), cfg, cache, dz, lengths, masks)
    assert loss == pytest.approx(ref.row_losses("softmax_cross_entropy", z_ref, y).mean())
    flat = np.zeros_like(net.theta)
    offsets = {name: off for name, off, _ in net._weight_table() + net._vector_table()}
    for key, value in g_ref.items():
        flat[offsets[key] : offsets[key] + value.size] = value.ravel()
    assert _rel(grad, flat) < 1e-10


def _finite_difference(net, X, y, theta, dropout, idx, eps=1e-6):
    def f(t):
        return net.loss_and_grad(t, X, y, dropout=dropout, key=KEY, step=3)[0]

    numeric = np.empty(len(idx))
    for j, i in enumerate(idx):
        up, down = theta.copy(), theta.copy()
        up[i] += eps
        down[i] -= eps
        numeric[j] = (f(up) - f(down)) / (2 * eps)
    return numeric


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "gaussian_nll"])
def test_two_layer_encoder_gradient_matches_finite_differences(name, loss):
    net, X, _, _, y, _ = _encoder(
        name,
        dropout=0.2,
        attention_dropout=0.25,
        loss=loss,
        n_outputs=4 if loss == "gaussian_nll" else 3,
    )
    if loss == "gaussian_nll":
        y = RNG.normal(size=(y.shape[0], 2))
    theta = net.theta.copy()
    _, grad = net.loss_and_grad(theta, X, y, dropout=True, key=KEY, step=3)
    numeric = _finite_difference(net, X, y, theta, True, np.arange(theta.size))
    assert _rel(grad, numeric) < 1e-6


def test_padding_tokens_do_not_change_the_output():
    net, X, x, lengths, _, _ = _encoder("causal-padded")
    garbage = X.values.copy().reshape(x.shape)
    for b, n_valid in enumerate(lengths):
        garbage[b, n_valid:] = np.nan
    out = net.predict(TokenInput(garbage.reshape(X.values.shape), X.lengths))
    np.testing.assert_array_equal(out, net.predict(X))
    assert np.all(np.isfinite(out))


def test_attention_weights_are_distributions_over_allowed_keys():
    net, X, _, lengths, _, _ = _encoder("causal-padded")
    maps = net.attention_weights(X)
    assert maps.shape == (6, 2, 2, 5, 5)
    allowed = ref.attention_allowed(5, lengths, True, 6)
    assert np.all(maps[~np.broadcast_to(allowed[:, None, None], maps.shape)] == 0)
    np.testing.assert_allclose(maps.sum(-1)[..., 0], 1.0)


@pytest.mark.slow
def test_training_is_identical_for_one_and_two_threads():
    from stochnet.engine import Adam, Trainer

    net, X, _, _, y, _ = _encoder(
        "causal-padded", dropout=0.1, attention_dropout=0.1, dtype=np.float32
    )
    net.initialize("glorot_uniform", KEY)
    theta0 = net.theta.copy()
    y = y.astype(np.float32)
    results = []
    for threads in (1, 2):
        net.theta[...] = theta0
        before = numba.get_num_threads()
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        try:
            trainer = Trainer(net, Adam(1e-2, 0.9, 0.999, 1e-8), batch_size=4, keys=KEY)
            for _ in range(3):
                trainer.run_epoch(X, y)
        finally:
            numba.set_num_threads(before)
        results.append(net.theta.copy())
    assert not np.array_equal(results[0], theta0)
    np.testing.assert_array_equal(results[0], results[1])
