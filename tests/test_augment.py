"""Random crops and Gaussian-noise augmentation."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import stochnet as sn
from stochnet.augment import parse_augment
from stochnet.kernels.cpu import crop as crop_kernels
from stochnet.random import derive_key

from . import reference as ref

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("channels", [None, 3])
def test_crops_equal_the_numpy_reference(mode, channels):
    shape = (5, 6, 7) if channels is None else (5, 6, 7, channels)
    images = RNG.normal(size=shape)
    size, padding = (4, 5), (2, 3)
    out = sn.augment.random_crop(images, size, seed=3, padding=padding, step=2, padding_mode=mode)
    offsets = ref.crop_offsets(derive_key(3), 2, 5, 6 + 4 - 4, 7 + 6 - 5)
    np.testing.assert_array_equal(out, ref.crop(images, offsets, size, padding, mode))


def test_sequences_and_flat_rows():
    seqs = RNG.normal(size=(4, 10))
    out = sn.augment.random_crop(seqs, 6, seed=1, padding=1)
    offsets = ref.crop_offsets(derive_key(1), 0, 4, 0, 10 + 2 - 6)
    expected = ref.crop(seqs[:, None, :], offsets, (1, 6), (0, 1), "constant")[:, 0]
    np.testing.assert_array_equal(out, expected)
    rows = RNG.normal(size=(3, 2 * 5 * 3))
    flat = sn.augment.random_crop(rows, 2, seed=0, image_shape=(2, 5, 3))
    images = sn.augment.random_crop(rows.reshape(3, 2, 5, 3), 2, seed=0)
    np.testing.assert_array_equal(flat, images.reshape(3, -1))


def test_offsets_are_uniform_over_the_allowed_range():
    plan = sn.RandomCrop(4, padding=2, image_shape=(6, 6)).plan(36)  # 7 offsets per axis
    offsets = np.empty((35_000, 2), dtype=np.int64)
    crop_kernels.random_offsets(plan, derive_key(0), np.uint64(5), np.uint64(0), 0, offsets)
    for axis in range(2):
        counts = np.bincount(offsets[:, axis], minlength=7)
        assert counts.size == 7
        chi2 = ((counts - 5000) ** 2 / 5000).sum()
        assert chi2 < 22.5  # 0.999 quantile of chi2(6)
    joint = np.bincount(offsets[:, 0] * 7 + offsets[:, 1], minlength=49)
    assert ((joint - 35_000 / 49) ** 2 / (35_000 / 49)).sum() < 84.0  # chi2(48), 0.999


def test_crop_at_predict_time_is_the_centre():
    plan = sn.RandomCrop(4, padding=1, image_shape=(6, 6)).plan(36)
    assert crop_kernels.centre_offsets(plan) == (2, 2)


def _digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=0, stratify=y)


def _shifted(X, seed=0):
    rng = np.random.default_rng(seed)
    out = np.empty_like(X).reshape(-1, 8, 8)
    for i, image in enumerate(X.reshape(-1, 8, 8)):
        dy, dx = rng.integers(-2, 3, 2)
        out[i] = np.roll(np.pad(image, 2), (dy, dx), axis=(0, 1))[2:10, 2:10]
    return out.reshape(X.shape)


def test_random_crops_make_an_mlp_robust_to_shifts():
    X_train, X_test, y_train, y_test = _digits()
    shifted = _shifted(X_test)
    crop = sn.RandomCrop(8, padding=2, image_shape=(8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = sn.MLPClassifier(random_state=0).fit(X_train, y_train)
        augmented = sn.MLPClassifier(augment=crop, max_iter=300, random_state=0)
        augmented.fit(X_train, y_train)
    assert augmented.score(shifted, y_test) >= plain.score(shifted, y_test) + 0.30


def test_crops_are_reproducible_and_thread_independent(threads):
    X_train, _, y_train, _ = _digits()
    params = dict(
        hidden_layer_sizes=(16,),
        max_iter=3,
        random_state=0,
        augment=[sn.RandomCrop(6, padding=1, image_shape=(8, 8)), sn.GaussianNoise(0.1)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with threads(1):
            one = sn.MLPClassifier(**params).fit(X_train, y_train).parameters_.copy()
        with threads(2):
            two = sn.MLPClassifier(**params).fit(X_train, y_train).parameters_.copy()
    np.testing.assert_array_equal(one, two)
    assert one.size == 36 * 16 + 16 * 10 + 16 + 10  # the network sees the 6 × 6 crop


def test_gaussian_noise_spec_equals_input_noise():
    X_train, _, y_train, _ = _digits()
    a = sn.MLPClassifier((8,), max_iter=2, random_state=0, input_noise=0.3)
    b = sn.MLPClassifier((8,), max_iter=2, random_state=0, augment=sn.GaussianNoise(0.3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(
            a.fit(X_train, y_train).parameters_, b.fit(X_train, y_train).parameters_
        )
    assert parse_augment([sn.GaussianNoise(0.3), sn.GaussianNoise(0.4)], 4)[1] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("augment", "match"),
    [
        (sn.RandomCrop(10, image_shape=(8, 8)), "size"),
        (sn.RandomCrop(4, image_shape=(8, 7)), "image_shape"),
        (sn.RandomCrop(4), "image_shape"),
        (sn.RandomCrop(4, padding=8, padding_mode="reflect", image_shape=(8, 8)), "padding"),
        ([sn.GaussianNoise(0.1), sn.RandomCrop(4, image_shape=(8, 8))], "after RandomCrop"),
        ("crop", "augment"),
    ],
)
def test_bad_specs_name_the_parameter(augment, match):
    X_train, _, y_train, _ = _digits()
    with pytest.raises(ValueError, match=match):
        sn.MLPClassifier(augment=augment).fit(X_train, y_train)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 0}, "size"),
        ({"size": 4, "padding": -1}, "padding"),
        ({"size": 4, "padding_mode": "wrap"}, "padding_mode"),
        ({"size": 4, "image_shape": (8, 0)}, "image_shape"),
    ],
)
def test_bad_crop_specs_fail_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sn.RandomCrop(**kwargs)


def test_negative_noise_is_rejected():
    with pytest.raises(ValueError, match="std"):
        sn.GaussianNoise(-1.0)


def test_estimators_take_image_arrays():
    X_train, X_test, y_train, _y_test = _digits()
    crop = sn.RandomCrop(6, padding=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        images = sn.MLPClassifier((16,), augment=crop, max_iter=3, random_state=0)
        images.fit(X_train.reshape(-1, 8, 8), y_train)
        rows = sn.MLPClassifier(
            (16,),
            augment=sn.RandomCrop(6, padding=1, image_shape=(8, 8)),
            max_iter=3,
            random_state=0,
        ).fit(X_train, y_train)
    np.testing.assert_array_equal(images.parameters_, rows.parameters_)
    np.testing.assert_array_equal(
        images.predict_proba(X_test.reshape(-1, 8, 8)), rows.predict_proba(X_test)
    )
    assert images.n_features_in_ == 64


def test_image_arrays_without_a_crop_are_rejected():
    X_train, _, y_train, _ = _digits()
    with pytest.raises(ValueError, match="dim 3"):
        sn.MLPClassifier((4,), max_iter=1).fit(X_train.reshape(-1, 8, 8), y_train)
