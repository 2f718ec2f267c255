"""The GPU engine against the CPU engine and the NumPy references: matrix products,
dense layers, activations, losses, optimiser steps, batch loading, and whole training
runs (float32 within rtol 1e-4; every random decision identical)."""

import numpy as np
import pytest
from numba import njit
from sklearn.base import clone

import stochnet as sn
from stochnet.engine import SGD, Adam, MLPNetwork, Trainer
from stochnet.engine.optim import OptimConfig
from stochnet.kernels.codes import ACTIVATIONS, LOSSES, NO_CROP, CropPlan
from stochnet.kernels.cpu import activations as cpu_act
from stochnet.kernels.cpu import dense as cpu_dense
from stochnet.kernels.cpu import inputs as cpu_inputs
from stochnet.kernels.cpu import losses as cpu_losses
from stochnet.kernels.cpu import optim as cpu_optim
from stochnet.kernels.cuda import activations, dense, inputs, losses, optim, reduce
from stochnet.random import derive_key

from .. import reference as ref

KEY = derive_key(11)
RNG = np.random.default_rng(5)


@pytest.mark.parametrize("kernel", ["tiled_matmul", "flat_matmul"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True)])
def test_matmul_kernels_match_numpy(geometry, kernel, dtype, trans_a, trans_b):
    from numba import cuda

    a = RNG.normal(size=(2, 11, 5) if trans_a else (2, 5, 11)).astype(dtype)
    b = RNG.normal(size=(2, 6, 11) if trans_b else (2, 11, 6)).astype(dtype)
    c = cuda.device_array((2, 5, 6), dtype=dtype)
    getattr(dense, kernel)(cuda.to_device(a), cuda.to_device(b), c, trans_a, trans_b)
    want = (a.swapaxes(1, 2) if trans_a else a) @ (b.swapaxes(1, 2) if trans_b else b)
    single = dtype == np.float32
    np.testing.assert_allclose(
        c.copy_to_host(), want, rtol=1e-5 if single else 1e-13, atol=1e-5 if single else 1e-13
    )


def test_dense_forward_backward_match_cpu(geometry):
    x, w, b, dz = (RNG.normal(size=s) for s in ((6, 5), (5, 3), (3,), (6, 3)))
    z = np.empty((6, 3))
    dense.dense_forward(x, w, b, z)
    np.testing.assert_allclose(z, x @ w + b, rtol=1e-13)
    grads_gpu = [np.empty((5, 3)), np.empty(3), np.empty((6, 5))]
    grads_cpu = [np.empty((5, 3)), np.empty(3), np.empty((6, 5))]
    dense.dense_backward(x, w, dz, *grads_gpu)
    cpu_dense.dense_backward(x, w, dz, *grads_cpu)
    for got, want in zip(grads_gpu, grads_cpu, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations_match_the_reference(name):
    z = np.linspace(-3, 3, 13)
    a = np.empty_like(z)
    activations.activate(ACTIVATIONS[name], z, a)
    np.testing.assert_allclose(a, ref.activation(name, z), rtol=1e-12, atol=1e-15)
    delta, cpu_delta = np.full_like(z, 2.0), np.full_like(z, 2.0)
    activations.activation_backward(ACTIVATIONS[name], z, delta)
    cpu_act.activation_backward(ACTIVATIONS[name], z, cpu_delta)
    np.testing.assert_allclose(delta, cpu_delta, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(delta, 2 * ref.activation_derivative(name, z), rtol=1e-12)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_losses_match_cpu_and_reference(loss):
    k = 4
    z = RNG.normal(size=(5, k))
    y = np.eye(k)[[0, 1, 2, 3, 1]] if loss == "softmax_cross_entropy" else RNG.random((5, k))
    if loss == "gaussian_nll":
        y = y[:, : k // 2]
    sw = RNG.random(5) + 0.5
    a, d = np.empty_like(z), np.empty_like(z)
    total = losses.output_loss(LOSSES[loss], z, a, y, sw, d)
    ca, cd = np.empty_like(z), np.empty_like(z)
    cpu_total = cpu_losses.output_loss(LOSSES[loss], z, ca, y, sw, cd)
    np.testing.assert_allclose(total, cpu_total, rtol=1e-12)
    np.testing.assert_allclose(a, ca, rtol=1e-13)
    np.testing.assert_allclose(d, cd, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(total, (sw * ref.row_losses(loss, z, y)).sum(), rtol=1e-10)


def test_reduction_sums():
    x = RNG.normal(size=37)
    s, q, a = reduce.sums(x)
    np.testing.assert_allclose((s, q, a), (x.sum(), (x**2).sum(), np.abs(x).sum()), rtol=1e-12)


@pytest.mark.parametrize(
    "opt",
    [
        OptimConfig(0, 0.1, 0.9, True, 0.0, 0.0, 0.0, 1e-2, 1e-3),
        OptimConfig(0, 0.1, 0.5, False, 0.0, 0.0, 0.0, 0.0, 0.0),
        OptimConfig(1, 1e-2, 0.0, False, 0.9, 0.999, 1e-8, 1e-2, 1e-3),
    ],
    ids=["sgd-nesterov-penalties", "sgd", "adam-penalties"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_steps_match_cpu(geometry, opt, dtype):
    theta, grad, s1, s2 = (RNG.normal(size=23).astype(dtype) for _ in range(4))
    s2 = np.abs(s2)
    ours = [a.copy() for a in (theta, grad, s1, s2)]
    theirs = [a.copy() for a in (theta, grad, s1, s2)]
    norms = optim.optimizer_step(*ours, 17, opt, 0.25, 3)
    cpu_norms = cpu_optim.optimizer_step(*theirs, 17, opt, 0.25, 3)
    np.testing.assert_allclose(norms, cpu_norms, rtol=1e-12)
    rtol = 2e-6 if dtype == np.float32 else 1e-13
    for got, want in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-7)


@njit
def _cpu_load_batch(X, order, start, rows, dest, crop, randomize, key, step):
    cpu_inputs.load_batch(X, order, start, rows, dest, None, crop, randomize, key, step)


def test_load_batch_with_crop_matches_cpu(geometry):
    crop = CropPlan(True, 4, 5, 2, 3, 3, 1, 1, 1)
    X = RNG.normal(size=(6, 40))
    order = np.array([5, 2, 0, 3, 1, 4])
    for randomize in (True, False):
        want = np.empty((3, 18))
        _cpu_load_batch(X, order, 2, 3, want, crop, randomize, KEY, np.uint64(4))
        got = np.empty((3, 18))
        inputs.load_batch(X, order, 2, 3, got, None, crop, randomize, KEY, np.uint64(4))
        np.testing.assert_array_equal(got, want)


def _train(device, optimizer, dtype=np.float32, epochs=2, **options):
    rng = np.random.default_rng(0)
    crop = options.pop("crop", NO_CROP)
    X = rng.normal(size=(20, 20 if crop.active else 6)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[np.arange(20) % 3]
    sw = options.pop("sample_weight", None)
    mask = options.pop("mask", None)
    net = MLPNetwork((6, 7, 5, 3), dropout=(0.3, 0.2), dtype=dtype, crop=crop)
    net.initialize("he_normal", derive_key(0)).to(device)
    net.set_mask(mask)
    trainer = Trainer(net, optimizer, batch_size=8, keys=derive_key(1), **options)
    curve = [trainer.run_epoch(X, Y, sw) for _ in range(epochs)]
    return net.theta.copy(), curve, trainer.optimizer.state, net.predict(X[:4])


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_training_on_cuda_equals_cpu(solver):
    keep = np.random.default_rng(3).random(6 * 7 + 7 * 5 + 5 * 3) > 0.3
    options = dict(
        input_noise=0.1,
        alpha=1e-3,
        l1=1e-3,
        mask=keep,
        sample_weight=np.linspace(0.5, 2.0, 20).astype(np.float32),
    )
    runs = []
    for device in ("cpu", "cuda"):
        opt = Adam(1e-2, 0.9, 0.999, 1e-8) if solver == "adam" else SGD(0.05, "constant", 0.9)
        runs.append(_train(device, opt, **dict(options)))
    (theta_cpu, curve_cpu, state_cpu, pred_cpu), (theta, curve, state, pred) = runs
    np.testing.assert_allclose(theta, theta_cpu, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(curve, curve_cpu, rtol=1e-5)
    for got, want in zip(state, state_cpu, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(pred, pred_cpu, rtol=1e-4, atol=1e-6)
    assert np.all(theta[: keep.size][~keep] == 0)


def test_training_with_crops_on_cuda_equals_cpu():
    crop = CropPlan(True, 4, 5, 1, 2, 3, 1, 1, 0)
    runs = [_train(d, SGD(0.05, "constant", 0.9), epochs=1, crop=crop) for d in ("cpu", "cuda")]
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-4, atol=1e-6)


def test_loss_and_grad_on_cuda_equals_cpu():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(9, 6)), np.eye(3)[np.arange(9) % 3]
    net = MLPNetwork((6, 5, 3), dropout=(0.4,)).initialize("glorot_uniform", derive_key(2))
    theta = net.theta.copy()
    want = net.loss_and_grad(theta, X, Y, alpha=1e-2, dropout=True, key=3, step=2)
    got = net.to("cuda").loss_and_grad(theta, X, Y, alpha=1e-2, dropout=True, key=3, step=2)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-14)


def test_estimator_on_cuda_equals_cpu():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(24, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    fits = []
    for device in ("cpu", "cuda"):
        clf = sn.MLPClassifier(
            (6,), dropout=0.2, batch_size=12, max_iter=2, random_state=0, device=device
        )
        with pytest.warns(
            sn.exceptions.ConvergenceWarning if hasattr(sn, "exceptions") else Warning
        ):
            clf.fit(X, y)
        fits.append(clf)
    cpu, gpu = fits
    assert isinstance(gpu.coefs_[0], np.ndarray)
    np.testing.assert_allclose(gpu.parameters_, cpu.parameters_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "seeds",
    [{"default": 0, "dropout": 3}, {"default": 0, "noise": 3}, {"default": 0, "shuffle": 3}],
    ids=["dropout", "noise", "shuffle"],
)
def test_per_source_seeds_on_cuda_equal_cpu(seeds):
    """Each source seeded alone draws the CPU's decisions on the GPU, and a source the
    model does not use changes no bit there either."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(16, 5)).astype(np.float32)
    y = np.arange(16) % 3
    fits = {}
    for device in ("cpu", "cuda"):
        for name, random_state in (("seeded", seeds), ("plain", 0)):
            clf = sn.MLPClassifier(
                (6,), dropout=0.2, input_noise=0.1, batch_size=8, max_iter=1,
                random_state=random_state, device=device,
            )  # fmt: skip
            with pytest.warns(Warning):
                fits[device, name] = clf.fit(X, y)
    cpu, gpu = fits["cpu", "seeded"], fits["cuda", "seeded"]
    np.testing.assert_allclose(gpu.parameters_, cpu.parameters_, rtol=1e-4, atol=1e-6)
    assert not np.allclose(gpu.parameters_, fits["cuda", "plain"].parameters_)
    unused = sn.MLPClassifier((6,), batch_size=8, max_iter=1, device="cuda")
    twins = []
    for dropout_seed in (1, 2):
        with pytest.warns(Warning):
            twins.append(
                clone(unused).set_params(random_state={"default": 0, "dropout": dropout_seed})
                .fit(X, y).parameters_
            )  # fmt: skip
    np.testing.assert_array_equal(*twins)


def test_a_fit_on_cuda_runs_one_epoch_a_call_and_equals_the_cpus_whole_epochs():
    from stochnet.engine import trainer
    from stochnet.kernels.cuda import epoch

    rng = np.random.default_rng(8)
    X = rng.normal(size=(40, 5)).astype(np.float32)
    y = np.arange(40) % 3
    fits = [
        sn.MLPClassifier((6,), batch_size=8, max_iter=8, random_state=0, device=device).fit(X, y)
        for device in ("cpu", "cuda")
    ]  # the CPU fit ran whole epochs per call (tests/test_whole_epochs.py)
    np.testing.assert_allclose(fits[1].parameters_, fits[0].parameters_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fits[1].loss_curve_, fits[0].loss_curve_, rtol=1e-5)
    rule = trainer.LossRule(0.0, np.inf, np.inf, 0, 5)
    fits[1]._trainer._batches_per_call = 10**6
    assert fits[1]._trainer.run_epochs(X, np.eye(3, dtype=np.float32)[y], rule=rule) is None
    whole = trainer.Epochs(np.empty(3), *trainer._ONE_CHUNK[1:])
    with pytest.raises(ValueError, match="one epoch's batches per call"):
        epoch.train_batches(None, None, None, None, None, None, None, 0.0, 0.0, 0.0, whole)


@pytest.mark.parametrize("source", ["crop", "prune", "validation"])
def test_crop_prune_and_validation_seeds_on_cuda_equal_cpu(source):
    rng = np.random.default_rng(7)
    images = rng.normal(size=(24, 4, 4)).astype(np.float32)
    y = np.arange(24) % 2
    fits = []
    for device in ("cpu", "cuda"):
        clf = sn.MLPClassifier(
            (6,), augment=sn.RandomCrop(3, padding=1), prune=0.3, early_stopping=True,
            validation_fraction=0.25, batch_size=8, max_iter=1, device=device,
            random_state={"default": 0, source: 4},
        )  # fmt: skip
        with pytest.warns(Warning):
            fits.append(clf.fit(images, y))
    np.testing.assert_allclose(fits[1].parameters_, fits[0].parameters_, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(fits[1].masks_[0], fits[0].masks_[0])
