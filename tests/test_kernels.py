"""Each CPU kernel against its NumPy float64 reference."""

import numpy as np
import pytest
from numba import njit, types
from threadpoolctl import threadpool_limits

from stochnet._config import FASTMATH
from stochnet.kernels.codes import ACTIVATIONS, LOSSES, STREAMS
from stochnet.kernels.cpu import activations, dense, dropout, losses, noise, optim
from stochnet.kernels.shared.math_source import flushed, row_loss, row_prediction
from stochnet.random import derive_key, keep_threshold

from . import reference as ref

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    """Tiled products call the BLAS from Numba's threads: it must run single-threaded, as
    the estimators hold it (``kernels.cpu.blas``)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


KEY = derive_key(11)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_forward_and_derivative(name):
    z = RNG.normal(scale=3.0, size=257)
    z[:3] = [0.0, 40.0, -40.0]
    a = np.empty_like(z)
    activations.activate(ACTIVATIONS[name], z, a)
    np.testing.assert_allclose(a, ref.activation(name, z), rtol=1e-13, atol=1e-300)
    delta = RNG.normal(size=z.shape)
    expected = delta * ref.activation_derivative(name, z)
    activations.activation_backward(ACTIVATIONS[name], z, delta)
    # 1 - tanh(z)² cancels near |z| large: compare with an absolute floor.
    np.testing.assert_allclose(delta, expected, rtol=1e-12, atol=1e-14)


def _targets(loss, n, k):
    if loss == "softmax_cross_entropy":
        return np.eye(k)[RNG.integers(0, k, n)]
    if loss == "binary_cross_entropy":
        return RNG.integers(0, 2, (n, k)).astype(float)
    if loss == "poisson":
        return RNG.poisson(2.0, (n, k)).astype(float)
    if loss == "gaussian_nll":
        return RNG.normal(size=(n, k // 2))
    return RNG.normal(size=(n, k))


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("weighted", [False, True])
def test_output_loss_value_delta_and_predictions(loss, weighted):
    n, k = 9, 4
    z = RNG.normal(size=(n, k))
    y = _targets(loss, n, k)
    sw = RNG.uniform(0.5, 2.0, n) if weighted else np.empty(0)
    a, delta = np.empty_like(z), np.empty_like(z)
    total = losses.output_loss(LOSSES[loss], z, a, y, sw, delta)
    w = sw if weighted else np.ones(n)
    np.testing.assert_allclose(total, (w * ref.row_losses(loss, z, y)).sum(), rtol=1e-12)
    np.testing.assert_allclose(a, ref.predictions(loss, z), rtol=1e-13)
    np.testing.assert_allclose(delta, w[:, None] * ref.output_delta(loss, z, y), rtol=1e-12)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_output_delta_is_the_derivative_of_the_loss(loss):
    n, k, h = 5, 4, 1e-6
    z = RNG.normal(size=(n, k))
    y = _targets(loss, n, k)
    a, delta = np.empty_like(z), np.empty_like(z)
    losses.output_loss(LOSSES[loss], z, a, y, np.empty(0), delta)
    numeric = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        numeric[idx] = (ref.row_losses(loss, zp, y).sum() - ref.row_losses(loss, zm, y).sum()) / (
            2 * h
        )
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-8)


def test_softmax_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0]])
    a, delta = np.empty_like(z), np.empty_like(z)
    total = losses.output_loss(
        LOSSES["softmax_cross_entropy"], z, a, np.eye(3)[[1]], np.empty(0), delta
    )
    assert np.isfinite(total) and np.all(np.isfinite(a))
    # -log p = 1000 exactly; the reported term is clipped at -log(eps) as scikit-learn's,
    # the delta is not.
    np.testing.assert_allclose(total, -np.log(np.finfo(np.float64).eps))
    np.testing.assert_allclose(delta, [[1.0, -1.0, 0.0]], atol=1e-300)


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_output_activation_equals_the_training_predictions(loss, dtype):
    # output_activation (prediction, a block-wise softmax) and output_loss (training,
    # row by row) must give the same bits.
    z = RNG.normal(scale=4.0, size=(37, 4)).astype(dtype)
    z[0, :3] = [60.0, 0.0, -60.0]
    a, a_train, delta = np.empty_like(z), np.empty_like(z), np.empty_like(z)
    losses.output_activation(LOSSES[loss], z, a)
    y = _targets(loss, *z.shape).astype(dtype)
    losses.output_loss(LOSSES[loss], z, a_train, y, np.empty(0, dtype), delta)
    np.testing.assert_array_equal(a, a_train)
    rtol = 1e-13 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(a, ref.predictions(loss, z.astype(float)), rtol=rtol, atol=1e-30)


@njit(fastmath=set(FASTMATH))
def _row_by_row_loss(loss, z, a, y, sw, delta):
    """The shared per-row loss code (what the CUDA kernel runs), row by row, compiled
    with the kernels' floating-point flags."""
    total = 0.0
    for i in range(z.shape[0]):
        lse = row_prediction(loss, z, a, i)
        total += row_loss(loss, z, a, y, sw[i] if sw.shape[0] > 0 else 1.0, delta, i, lse)
    return total


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_block_loss_equals_the_shared_row_loss(loss, dtype, weighted):
    z = RNG.normal(scale=4.0, size=(37, 4)).astype(dtype)
    y = _targets(loss, *z.shape).astype(dtype)
    sw = RNG.random(37).astype(dtype) if weighted else np.empty(0, dtype)
    a, delta = np.empty_like(z), np.empty_like(z)
    total = losses.output_loss(LOSSES[loss], z, a, y, sw, delta)
    a_row, delta_row = np.empty_like(z), np.empty_like(z)
    total_row = _row_by_row_loss(LOSSES[loss], z, a_row, y, sw, delta_row)
    np.testing.assert_array_equal(a, a_row)
    # The same arithmetic, but fused multiply-adds may form differently across the
    # call boundary: equal to rounding.
    np.testing.assert_allclose(total, total_row, rtol=1e-12)
    rtol = 1e-14 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(delta, delta_row, rtol=rtol, atol=1e-30)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_forward_backward(dtype):
    x = RNG.normal(size=(7, 5)).astype(dtype)
    w = RNG.normal(size=(5, 3)).astype(dtype)
    b = RNG.normal(size=3).astype(dtype)
    dz = RNG.normal(size=(7, 3)).astype(dtype)
    z = np.empty((7, 3), dtype)
    dense.dense_forward(x, w, b, z)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(z, x.astype(float) @ w + b, rtol=rtol, atol=rtol)
    gw, gb, dx = np.empty_like(w), np.empty_like(b), np.empty_like(x)
    dense.dense_backward(x, w, dz, gw, gb, dx)
    np.testing.assert_allclose(gw, x.T.astype(float) @ dz, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gb, dz.sum(0), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dx, dz.astype(float) @ w.T, rtol=rtol, atol=rtol)


def _strided_views(a):
    """``a`` as a row-major, a column-major and a padded (non-contiguous) view."""
    padded = np.full((a.shape[0] + 3, a.shape[1] + 2), np.nan, dtype=a.dtype)
    padded[1 : a.shape[0] + 1, 2:] = a
    return [a, np.asfortranarray(a), padded[1 : a.shape[0] + 1, 2:]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "m,k,n", [(0, 3, 4), (5, 0, 3), (1, 7, 1), (37, 50, 23), (700, 300, 9), (9, 300, 700)]
)
def test_matmul_strided_views(dtype, m, k, n):
    from stochnet.kernels.cpu.blas import _product, affine, matmul

    a = RNG.normal(size=(m, k)).astype(dtype)
    b = RNG.normal(size=(k, n)).astype(dtype)
    bias = RNG.normal(size=n).astype(dtype)
    expected = a.astype(float) @ b
    tol = 1e-12 if dtype == np.float64 else 1e-4
    for x in _strided_views(a):
        for y in _strided_views(b):
            out = np.full((m, n + 2), np.nan, dtype=dtype)[:, 1 : n + 1]  # rows contiguous
            matmul(x, y, out)
            np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)
            affine(x, y, bias, out)
            np.testing.assert_allclose(out, expected + bias, rtol=tol, atol=tol)
    # the nine layout pairs (and every other caller's) share one compiled product per dtype
    dtypes = [signature[0].dtype for signature in _product.signatures]
    assert len(dtypes) == len(set(dtypes)), _product.signatures


def test_matmul_rejects_unit_stride_free_views():
    from stochnet.kernels.cpu.blas import matmul

    a = np.ones((4, 6))[::2, ::2]
    with pytest.raises(ValueError, match="contiguous rows or columns"):
        matmul(a, np.ones((3, 2)), np.empty((2, 2)))


@pytest.mark.parametrize("shape", [(40, 30, 20), (200, 64, 64), (3000, 64, 30), (30, 64, 3000)])
def test_matmul_tiles_give_the_same_bits_for_any_thread_count(shape):
    import numba

    from stochnet.kernels.cpu.blas import MAX_TILES, MIN_TILE_MACS, matmul, tile_count

    m, k, n = shape
    a = RNG.normal(size=(m, k)).astype(np.float32)
    b = RNG.normal(size=(k, n)).astype(np.float32)
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        try:
            out = np.full((m, n), np.nan, dtype=np.float32)
            matmul(a, b, out)
            results.append(out)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_allclose(results[0], a.astype(float) @ b, rtol=1e-4, atol=1e-4)
    assert (tile_count(m, n, k) > 1) == (m * n * k >= 2 * MIN_TILE_MACS and MAX_TILES > 1)


# Shapes: one tile, tiles along the rows, tiles along the columns, k = 0, no rows.
FUSED_SHAPES = [(5, 7, 3), (700, 300, 40), (9, 300, 700), (6, 0, 4), (0, 5, 3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", FUSED_SHAPES)
@pytest.mark.parametrize("name", ["relu", "tanh", "gelu"])
def test_affine_activate_equals_affine_then_activate(dtype, m, k, n, name):
    from stochnet.kernels.cpu.blas import affine_activate
    from stochnet.kernels.cpu.epilogues import finisher

    a = RNG.normal(size=(m, k)).astype(dtype)
    b = RNG.normal(size=(k, n)).astype(dtype)
    bias = RNG.normal(size=n).astype(dtype)
    z, out = np.full((m, n), np.nan, dtype=dtype), np.full((m, n), np.nan, dtype=dtype)
    affine_activate(a, b.T.copy().T, bias, z, out, ACTIVATIONS[name], finisher(dtype))
    expected = a.astype(float) @ b + bias
    tol = 1e-12 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(z, expected, rtol=tol, atol=tol)
    # The activation is the kernel's own, applied to the z it wrote: the same bits.
    flat = np.empty(z.size, dtype=dtype)
    activations.activate(ACTIVATIONS[name], z.ravel(), flat)
    np.testing.assert_array_equal(out, flat.reshape(m, n))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", FUSED_SHAPES)
@pytest.mark.parametrize("with_mask", [False, True])
def test_matmul_delta_masks_differentiates_and_sums_columns(dtype, m, k, n, with_mask):
    from stochnet.kernels.cpu.blas import matmul_delta
    from stochnet.kernels.cpu.epilogues import finisher

    a = RNG.normal(size=(m, k)).astype(dtype)
    w = RNG.normal(size=(n, k)).astype(dtype)
    z = RNG.normal(size=(m, n)).astype(dtype)
    mask = (RNG.random((m, n)) > 0.3).astype(dtype) * dtype(1 / 0.7)
    out = np.full((m, n), np.nan, dtype=dtype)
    sums = np.full(n, np.nan, dtype=dtype)
    given_mask = mask if with_mask else mask[:0]
    matmul_delta(a, w.T, out, z, given_mask, ACTIVATIONS["tanh"], sums, finisher(dtype))
    expected = (a.astype(float) @ w.T) * ref.activation_derivative("tanh", z.astype(float))
    if with_mask:
        expected *= mask
    tol = 1e-12 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(sums, expected.sum(0), rtol=tol, atol=tol * max(m, 1))


def test_fused_products_reject_mismatched_layouts():
    from stochnet.kernels.cpu.blas import affine_activate, matmul_delta
    from stochnet.kernels.cpu.epilogues import finisher

    a, b, z = np.ones((4, 3)), np.ones((3, 2)), np.empty((4, 2))
    with pytest.raises(ValueError, match="out with the shape and strides of z"):
        affine_activate(a, b, np.zeros(2), z, np.empty((2, 4)).T, 3, finisher(np.float64))
    with pytest.raises(ValueError, match="z with the shape and strides of c"):
        matmul_delta(a, b, z, np.empty((4, 3)), z[:0], 3, np.empty(2), finisher(np.float64))
    with pytest.raises(ValueError, match="a mask with the shape"):
        matmul_delta(a, b, z, z.copy(), np.empty((4, 1)), 3, np.empty(2), finisher(np.float64))


def test_fused_tiles_give_the_same_bits_for_any_thread_count():
    import numba

    from stochnet.kernels.cpu.blas import matmul_delta
    from stochnet.kernels.cpu.epilogues import finisher

    a = RNG.normal(size=(900, 256)).astype(np.float32)
    w = RNG.normal(size=(256, 256)).astype(np.float32)
    z = RNG.normal(size=(900, 256)).astype(np.float32)
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        try:
            out, sums = np.empty_like(z), np.empty(256, np.float32)
            matmul_delta(a, w, out, z, z[:0], ACTIVATIONS["relu"], sums, finisher(np.float32))
            results.append((out, sums))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for first, second in zip(*results, strict=True):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.8])
@pytest.mark.parametrize("n", [103, dropout.PARALLEL_FROM + 13])  # serial / parallel path
def test_dropout_forward_and_backward_share_the_mask(rate, n):
    offset, step = 8, np.uint64(3)
    a = RNG.normal(size=n)
    expected_keep = ref.keep_mask(KEY, STREAMS["dropout"], 3, offset, n, rate)
    out, mask = a.copy(), np.empty(n)
    scale = 1 / (1 - rate)
    dropout.dropout_forward(
        out, mask, keep_threshold(rate), scale, KEY, np.uint64(STREAMS["dropout"]), step, offset
    )
    np.testing.assert_array_equal(mask, np.where(expected_keep, scale, 0.0))
    np.testing.assert_allclose(out, np.where(expected_keep, a * scale, 0.0), rtol=1e-15)
    delta = RNG.normal(size=n)
    expected = delta * mask
    dropout.dropout_backward(delta, mask)
    np.testing.assert_array_equal(delta, expected)


def test_inverted_dropout_preserves_the_mean():
    n, rate = 400_000, 0.3
    a, mask = np.ones(n), np.empty(n)
    dropout.dropout_forward(
        a, mask, keep_threshold(rate), 1 / (1 - rate), KEY, np.uint64(3), np.uint64(0), 0
    )
    # Each entry is 0 or 1/(1-p): mean 1, variance p/(1-p).
    assert abs(a.mean() - 1.0) < 4 * np.sqrt(rate / (1 - rate) / n)


def test_gaussian_noise_uses_the_public_normals():
    x = RNG.normal(size=21)
    out = x.copy()
    noise.add_gaussian_noise(out, 0.5, KEY, np.uint64(STREAMS["noise"]), np.uint64(2), 4)
    np.testing.assert_allclose(
        out, x + 0.5 * ref.normal(KEY, STREAMS["noise"], 2, 4, 21), rtol=1e-13
    )


def _flat_problem(n_coef=30, n_bias=6):
    theta = RNG.normal(size=n_coef + n_bias)
    grad = RNG.normal(size=theta.shape)
    return theta, grad, n_coef


@pytest.mark.parametrize("t", [1, 7])
def test_adam_step(t):
    theta, grad, n_coef = _flat_problem()
    m, v = RNG.normal(size=theta.shape), RNG.uniform(size=theta.shape)
    alpha, l1, inv_sw = 0.1, 0.01, 1 / 8
    g = grad * inv_sw
    g[:n_coef] += (alpha * theta[:n_coef] + l1 * np.sign(theta[:n_coef])) * inv_sw
    expected = [theta.copy()], [m.copy()], [v.copy()]
    ref.adam_update(expected[0], [g], expected[1], expected[2], t, lr=0.01)
    _sq, _ab = optim.adam_step(
        theta, grad, m, v, n_coef, alpha, l1, inv_sw, 0.01, 0.9, 0.999, 1e-8, t
    )
    np.testing.assert_allclose(theta, expected[0][0], rtol=1e-13)
    np.testing.assert_allclose(m, expected[1][0], rtol=1e-13)
    np.testing.assert_allclose(v, expected[2][0], rtol=1e-13)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_step(nesterov):
    theta, grad, n_coef = _flat_problem()
    vel = RNG.normal(size=theta.shape)
    before = theta[:n_coef].copy()
    alpha, inv_sw = 0.2, 1 / 3
    g = grad * inv_sw
    g[:n_coef] += alpha * theta[:n_coef] * inv_sw
    expected_theta, expected_vel = theta.copy(), vel.copy()
    ref.sgd_update([expected_theta], [g], [expected_vel], 0.05, 0.9, nesterov)
    sq, ab = optim.sgd_step(theta, grad, vel, n_coef, alpha, 0.0, inv_sw, 0.05, 0.9, nesterov)
    np.testing.assert_allclose(theta, expected_theta, rtol=1e-13)
    np.testing.assert_allclose(vel, expected_vel, rtol=1e-13)
    np.testing.assert_allclose(sq, (before**2).sum(), rtol=1e-13)
    np.testing.assert_allclose(ab, np.abs(before).sum(), rtol=1e-13)


def test_float32_optimiser_keeps_float32():
    theta = RNG.normal(size=20).astype(np.float32)
    grad = RNG.normal(size=20).astype(np.float32)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    expected = [theta.astype(float)], [np.zeros(20)], [np.zeros(20)]
    ref.adam_update(expected[0], [grad.astype(float)], expected[1], expected[2], 1)
    optim.adam_step(theta, grad, m, v, 10, 0.0, 0.0, 1.0, 1e-3, 0.9, 0.999, 1e-8, 1)
    assert theta.dtype == np.float32
    np.testing.assert_allclose(theta, expected[0][0], rtol=1e-5)


@pytest.mark.parametrize("n_coef", [0, 5, optim.LANES * 3 + 7, optim.BLOCK * 5 + 123])
def test_weight_norms_are_exact_sums_independent_of_threads(n_coef):
    import numba

    theta = RNG.normal(size=n_coef + 9).astype(np.float32)
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        results.append(optim.weight_norms(theta, n_coef))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    weights = theta[:n_coef].astype(np.float64)
    np.testing.assert_allclose(results[0], [(weights**2).sum(), np.abs(weights).sum()], rtol=1e-13)
    assert results[0] == results[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flushed_keeps_the_dtype(dtype):
    # A float64 result would make the float32 optimiser loops run unvectorised in float64.
    flush = njit(lambda x, tiny: flushed(x, tiny))
    tiny = dtype(1e-30)
    values = [flush(dtype(x), tiny) for x in (1e-31, -1e-31, 0.5, -2.0, np.inf, np.nan)]
    expected_type = types.float32 if dtype is np.float32 else types.float64
    assert flush.nopython_signatures[0].return_type == expected_type
    np.testing.assert_array_equal(values, [0.0, 0.0, 0.5, -2.0, np.inf, np.nan])


def test_softmax_exp_float32_within_one_ulp():
    from stochnet.kernels.shared.math_source import softmax_exp

    @njit
    def exp_all(x, out):
        for i in range(x.shape[0]):
            out[i] = softmax_exp(x[i])

    x = np.concatenate([np.linspace(-87.3, 0.0, 200_001), -RNG.exponential(5.0, 10_000)])
    x = x.astype(np.float32)
    out = np.empty_like(x)
    exp_all(x, out)
    exact = np.exp(x.astype(np.float64))
    normal = exact >= np.finfo(np.float32).tiny
    ulps = np.abs(out - exact)[normal] / np.spacing(exact[normal].astype(np.float32))
    assert ulps.max() <= 1.0
    special = np.array([-np.inf, np.nan, -1e3, 0.0, -0.0], dtype=np.float32)
    out = np.empty_like(special)
    exp_all(special, out)
    np.testing.assert_array_equal(out, [0.0, np.nan, 0.0, 1.0, 1.0])
    doubles = np.linspace(-50.0, 0.0, 101)
    out64 = np.empty_like(doubles)
    exp_all(doubles, out64)
    np.testing.assert_allclose(out64, np.exp(doubles), rtol=1e-15)  # the library exp


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [3, 1200])  # below and above PARALLEL_COPY_BYTES
def test_load_rows(dtype, rows):
    from stochnet.kernels.cpu.batch import load_rows

    X = RNG.normal(size=(3000, 80)).astype(dtype)
    order = RNG.permutation(3000).astype(np.int64)
    for source in (X, X[:, ::2]):  # contiguous rows are copied whole, others per element
        dest = np.full((rows, source.shape[1]), np.nan, dtype=dtype)
        load_rows(source, order, 100, rows, dest)
        np.testing.assert_array_equal(dest, source[order[100 : 100 + rows]])
        load_rows(source, order[:0], 100, rows, dest)
        np.testing.assert_array_equal(dest, source[100 : 100 + rows])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_count_nonfinite(dtype):
    from stochnet.kernels.cpu.checks import BLOCK, count_nonfinite

    x = RNG.normal(size=3 * BLOCK + 5).astype(dtype)
    assert count_nonfinite(x) == 0
    assert count_nonfinite(x[:0]) == 0
    x[[0, BLOCK, 2 * BLOCK + 9, x.size - 1]] = [np.nan, np.inf, -np.inf, np.nan]
    x[7] = np.finfo(dtype).max  # large but finite
    assert count_nonfinite(x) == 4
