"""Every CUDA kernel against its CPU twin and the NumPy references: random draws bit for
bit across launch geometries, arithmetic kernels exactly."""

import numpy as np
import pytest

import stochnet as sn
from stochnet.kernels.codes import CropPlan
from stochnet.kernels.cpu import crop as cpu_crop
from stochnet.kernels.cpu import dropout as cpu_dropout
from stochnet.kernels.cpu import noise as cpu_noise
from stochnet.kernels.cpu import prune as cpu_prune
from stochnet.kernels.cpu import rng as cpu_rng
from stochnet.kernels.cuda import crop, dropout, noise, prune, rng
from stochnet.random import derive_key, keep_threshold

from .. import reference as ref

KEY = derive_key(7)
STREAM, STEP = np.uint64(3), np.uint64(5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [0, 4, 6])
def test_uniform_and_normal_match_cpu_bit_for_bit(geometry, dtype, offset):
    for name in ("fill_uniform", "fill_normal"):
        a, b = np.empty(29, dtype), np.empty(29, dtype)
        getattr(cpu_rng, name)(a, KEY, STREAM, STEP, offset)
        getattr(rng, name)(b, KEY, STREAM, STEP, offset)
        np.testing.assert_array_equal(a, b)
    u = np.empty(29)
    rng.fill_uniform(u, KEY, STREAM, STEP, offset)
    np.testing.assert_array_equal(u, ref.uniform(KEY, STREAM, STEP, offset, 29))


def test_keep_mask_and_permutation_match_cpu(geometry):
    a, b = np.empty(41, bool), np.empty(41, bool)
    cpu_rng.fill_keep_mask(a, keep_threshold(0.3), KEY, STREAM, STEP, 8)
    rng.fill_keep_mask(b, keep_threshold(0.3), KEY, STREAM, STEP, 8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(b, ref.keep_mask(KEY, STREAM, STEP, 8, 41, 0.3))
    p, q = np.arange(23), np.arange(23)
    cpu_rng.permutation(p, KEY, STREAM, STEP)
    rng.permutation(q, KEY, STREAM, STEP)
    np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_forward_backward_match_cpu(geometry, dtype):
    x = np.random.default_rng(0).normal(size=37).astype(dtype)
    outs = []
    for module in (cpu_dropout, dropout):
        a, mask = x.copy(), np.empty_like(x)
        module.dropout_forward(a, mask, keep_threshold(0.25), 1 / 0.75, KEY, STREAM, STEP, 8)
        delta = np.ones_like(x)
        module.dropout_backward(delta, mask)
        outs.append((a, mask, delta))
    for got, want in zip(outs[1], outs[0], strict=True):
        np.testing.assert_array_equal(got, want)
    keep = ref.keep_mask(KEY, STREAM, STEP, 8, 37, 0.25)
    np.testing.assert_array_equal(outs[1][1] != 0, keep)


def test_gaussian_noise_matches_cpu(geometry):
    x = np.linspace(-1, 1, 30)
    a, b = x.copy(), x.copy()
    cpu_noise.add_gaussian_noise(a, 0.3, KEY, STREAM, STEP, 4)
    noise.add_gaussian_noise(b, 0.3, KEY, STREAM, STEP, 4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose((b - x) / 0.3, ref.normal(KEY, STREAM, STEP, 4, 30), rtol=1e-12)


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_crop_offsets_and_rows_match_cpu(geometry, mode):
    plan = CropPlan(True, 5, 6, 2, 3, 4, 2, 1, mode)
    X = np.random.default_rng(1).normal(size=(7, 5 * 6 * 2))
    offsets = []
    for module in (cpu_crop, crop):
        out = np.empty((7, 2), np.int64)
        module.random_offsets(plan, KEY, STREAM, STEP, 3, out)
        offsets.append(out)
    np.testing.assert_array_equal(offsets[0], offsets[1])
    a, b = np.empty((7, 3 * 4 * 2)), np.empty((7, 3 * 4 * 2))
    cpu_crop.crop_rows(X, a, plan, offsets[0])
    crop.crop_rows(X, b, plan, offsets[0])
    np.testing.assert_array_equal(a, b)


def test_apply_mask_matches_cpu(geometry):
    rng_ = np.random.default_rng(2)
    mask = (rng_.random(19) > 0.5).astype(np.float32)
    arrays = [rng_.normal(size=25).astype(np.float32) for _ in range(3)]
    a = [x.copy() for x in arrays]
    b = [x.copy() for x in arrays]
    cpu_prune.apply_mask(*a, mask)
    prune.apply_mask(*b, mask)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    empty = np.empty(0, np.float32)
    c = arrays[0].copy()
    prune.apply_mask(c, empty, empty, mask)
    np.testing.assert_array_equal(c, a[0])


def test_public_api_on_cuda_is_bit_identical(geometry):
    for dtype in (np.float32, np.float64):
        for draw in (sn.random.uniform, sn.random.normal):
            on_cpu = draw((3, 5), 1, step=4, dtype=dtype)
            np.testing.assert_array_equal(
                on_cpu, draw((3, 5), 1, step=4, dtype=dtype, device="cuda")
            )
    np.testing.assert_array_equal(
        sn.random.dropout_mask(50, 0.4, 2), sn.random.dropout_mask(50, 0.4, 2, device="cuda")
    )
    np.testing.assert_array_equal(
        sn.prune.random_mask((4, 6), 0.5, 3), sn.prune.random_mask((4, 6), 0.5, 3, device="cuda")
    )
    images = np.random.default_rng(3).normal(size=(4, 6, 6))
    np.testing.assert_array_equal(
        sn.augment.random_crop(images, 4, 5, padding=1, padding_mode="reflect"),
        sn.augment.random_crop(images, 4, 5, padding=1, padding_mode="reflect", device="cuda"),
    )


def test_device_arrays_are_used_in_place():
    from numba import cuda

    host = np.empty(16)
    on_gpu = cuda.device_array(16)
    rng.fill_uniform(on_gpu, KEY, STREAM, STEP, 0)
    cpu_rng.fill_uniform(host, KEY, STREAM, STEP, 0)
    np.testing.assert_array_equal(on_gpu.copy_to_host(), host)
