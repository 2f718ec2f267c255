import numpy as np
import pytest
from numba import njit

import stochnet as sn
from stochnet.kernels.cpu import rng
from stochnet.kernels.shared import philox_source
from stochnet.random import STREAMS, derive_key

from . import reference as ref

# Random123's kat_vectors for philox4x32_R(10): counter, key, expected output.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (0xFFFFFFFF,) * 4,
        (0xFFFFFFFF,) * 2,
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@njit
def _compiled_philox(c0, c1, c2, c3, k0, k1):
    return philox_source.philox4x32_10(c0, c1, c2, c3, k0, k1)


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_philox_known_answers(counter, key, expected):
    args = [np.uint64(x) for x in (*counter, *key)]
    assert tuple(int(w) for w in _compiled_philox(*args)) == expected
    assert tuple(int(w) for w in philox_source.philox4x32_10(*args)) == expected
    assert ref.philox4x32_10(counter, key) == expected


@pytest.mark.parametrize("offset", [0, 1, 3, 4, 2**33 + 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_uniform_kernel_matches_reference(offset, dtype):
    key, stream, step = derive_key(7), np.uint64(5), np.uint64(11)
    out = np.empty(13, dtype=dtype)
    rng.fill_uniform(out, key, stream, step, offset)
    np.testing.assert_array_equal(out, ref.uniform(key, 5, 11, offset, 13, dtype))


@pytest.mark.parametrize("offset", [0, 1, 6])
def test_normal_kernel_matches_reference(offset):
    key = derive_key(3)
    out = np.empty(11)
    rng.fill_normal(out, key, np.uint64(2), np.uint64(9), offset)
    np.testing.assert_allclose(out, ref.normal(key, 2, 9, offset, 11), rtol=1e-14)


@pytest.mark.parametrize("offset", [0, 5])
def test_keep_mask_kernel_matches_reference(offset):
    key = derive_key(4)
    out = np.empty(37, dtype=np.bool_)
    rng.fill_keep_mask(out, sn.random.keep_threshold(0.3), key, np.uint64(3), np.uint64(1), offset)
    np.testing.assert_array_equal(out, ref.keep_mask(key, 3, 1, offset, 37, 0.3))


def test_permutation_matches_reference():
    key = derive_key(5)
    out = np.arange(23, dtype=np.int64)
    rng.permutation(out, key, np.uint64(2), np.uint64(4))
    np.testing.assert_array_equal(out, ref.permutation(key, 2, 4, 23))


def test_public_functions_use_counter_index_in_c_order():
    u = sn.random.uniform((3, 5), seed=1, stream="noise", step=2)
    np.testing.assert_array_equal(u.ravel(), ref.uniform(derive_key(1), STREAMS["noise"], 2, 0, 15))


def test_uniform_moments_and_range():
    n = 400_000
    for dtype in (np.float64, np.float32):
        u = sn.random.uniform(n, seed=0, dtype=dtype)
        assert u.dtype == dtype
        assert 0.0 < u.min() and u.max() < 1.0
        assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)
        # Var of the sample variance of U(0,1) is (1/80 - 1/144) / n.
        assert abs(u.var() - 1 / 12) < 4 * np.sqrt((1 / 80 - 1 / 144) / n)


def test_normal_moments():
    n = 400_000
    z = sn.random.normal(n, seed=2)
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / n)
    # Fourth moment 3 (normality, not just two moments): Var(z⁴) = 96.
    assert abs((z**4).mean() - 3) < 4 * np.sqrt(96 / n)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
def test_dropout_keep_rate_within_four_sigma(rate):
    n = 200_000
    m = sn.random.dropout_mask(n, rate, seed=3)
    assert m.dtype == np.bool_
    keep = 1 - rate
    assert abs(m.mean() - keep) <= 4 * np.sqrt(keep * (1 - keep) / n) + 1e-12


def test_seeds_steps_and_streams_give_different_draws():
    base = sn.random.uniform(64, seed=0)
    assert not np.array_equal(base, sn.random.uniform(64, seed=1))
    assert not np.array_equal(base, sn.random.uniform(64, seed=0, step=1))
    assert not np.array_equal(base, sn.random.uniform(64, seed=0, stream="dropout"))
    np.testing.assert_array_equal(base, sn.random.uniform(64, seed=0))


def test_streams_are_uncorrelated():
    a = sn.random.normal(100_000, seed=0, stream="init")
    b = sn.random.normal(100_000, seed=0, stream="dropout")
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(100_000)


@pytest.mark.parametrize(
    "draw",
    [
        lambda: sn.random.uniform(100_003, seed=9),
        lambda: sn.random.normal(100_003, seed=9),
        lambda: sn.random.dropout_mask(100_003, 0.2, seed=9),
    ],
)
def test_identical_for_one_and_two_threads(draw, threads):
    with threads(1):
        one = draw()
    with threads(2):
        two = draw()
    np.testing.assert_array_equal(one, two)


def test_permutation_is_a_uniform_permutation():
    counts = np.zeros((4, 4))
    for step in range(4000):
        p = sn.random.permutation(4, seed=0, step=step)
        counts[np.arange(4), p] += 1
    # Each position takes each value with probability 1/4: chi-square, 9 dof.
    expected = 1000.0
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 27.9  # 0.999 quantile of chi2(9)


def test_derive_key_accepts_numpy_generators_and_is_deterministic():
    assert derive_key(123) == derive_key(123)
    assert derive_key(123) != derive_key(124)
    g1, g2 = np.random.default_rng(0), np.random.default_rng(0)
    assert derive_key(g1) == derive_key(g2)
    assert derive_key(g1) != derive_key(np.random.default_rng(0))  # g1 advanced
    r1, r2 = np.random.RandomState(0), np.random.RandomState(0)
    assert derive_key(r1) == derive_key(r2)
    assert derive_key(None) != derive_key(None)
    assert isinstance(derive_key(np.int32(3)), np.uint64)


@pytest.mark.parametrize(
    ("seed", "error"),
    [(-1, ValueError), (2**64, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)],
)
def test_derive_key_rejects_bad_seeds(seed, error):
    with pytest.raises(error, match="seed"):
        derive_key(seed)


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="rate"):
        sn.random.dropout_mask(3, 1.0, seed=0)
    with pytest.raises(ValueError, match="stream"):
        sn.random.uniform(3, seed=0, stream="nope")
    with pytest.raises(ValueError, match="step"):
        sn.random.uniform(3, seed=0, step=-1)
    with pytest.raises(ValueError, match="shape"):
        sn.random.normal((2, -1), seed=0)
    with pytest.raises(ValueError, match="dtype"):
        sn.random.uniform(3, seed=0, dtype=np.int32)
    with pytest.raises(ValueError, match="device"):
        sn.random.uniform(3, seed=0, device="tpu")
    with pytest.raises(RuntimeError, match="cuda"):
        sn.random.uniform(3, seed=0, device="cuda")


def test_auto_device_falls_back_to_cpu():
    np.testing.assert_array_equal(
        sn.random.uniform(5, seed=0, device="auto"), sn.random.uniform(5, seed=0)
    )


def test_empty_shapes():
    assert sn.random.uniform((0, 3), seed=0).shape == (0, 3)
    assert sn.random.dropout_mask(0, 0.5, seed=0).shape == (0,)
