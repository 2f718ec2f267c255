"""Compiled kernels on their own: dense layers, Philox, dropout, crops, optimiser."""

import numpy as np
from threadpoolctl import threadpool_limits

import stochnet as sn
from stochnet.kernels.cpu import attention, dense, dropout, optim
from stochnet.random import derive_key, keep_threshold

from .common import mnist_like, sized


class DenseLayer:
    """One 784→256 / 256→256 layer, forward and backward, float32."""

    params = sized(([32, 128, 512], [784, 256]), ([128], [784]))
    param_names = ["batch", "n_in"]

    def setup(self, batch, n_in):
        # The products run in tiles on Numba's threads, each a BLAS call: the BLAS must
        # be single-threaded meanwhile, as the estimators hold it.
        self.blas = threadpool_limits(limits=1, user_api="blas")
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((batch, n_in), dtype=np.float32)
        self.w = rng.standard_normal((n_in, 256), dtype=np.float32)
        self.b = np.zeros(256, np.float32)
        self.z = np.empty((batch, 256), np.float32)
        self.gw, self.gb = np.empty_like(self.w), np.empty_like(self.b)
        self.dx = np.empty_like(self.x)
        self.time_forward()
        self.time_backward()

    def teardown(self, *params):
        self.blas.restore_original_limits()

    def time_forward(self, *params):
        dense.dense_forward(self.x, self.w, self.b, self.z)

    def time_backward(self, *params):
        dense.dense_backward(self.x, self.w, self.z, self.gw, self.gb, self.dx)


class Philox:
    """Counter-based draws through the public API."""

    params = sized([[10**5, 10**7], ["float32", "float64"]], [[10**5], ["float32"]])
    param_names = ["size", "dtype"]

    def setup(self, size, dtype):
        sn.random.uniform(8, seed=0, dtype=dtype)
        sn.random.normal(8, seed=0, dtype=dtype)

    def time_uniform(self, size, dtype):
        sn.random.uniform(size, seed=0, dtype=dtype)

    def time_normal(self, size, dtype):
        sn.random.normal(size, seed=0, dtype=dtype)


class Dropout:
    """Inverted dropout forward on 10⁷ float32 (mask drawn inside the kernel)."""

    def setup(self):
        self.a = np.random.default_rng(0).random(10**7, dtype=np.float32)
        self.out, self.mask = np.empty_like(self.a), np.empty_like(self.a)
        self.args = (keep_threshold(0.2), 1.25, derive_key(0), np.uint64(3), np.uint64(1), 0)
        self.time_forward()
        sn.random.dropout_mask(8, 0.2, seed=0)

    def time_forward(self):
        self.out[:] = self.a
        dropout.dropout_forward(self.out, self.mask, *self.args)

    def time_dropout_mask(self):
        sn.random.dropout_mask(10**7, 0.2, seed=0)


class Crop:
    """Random 24×24 crops of 10 000 padded 28×28 images."""

    def setup(self):
        self.X = mnist_like()[0]
        sn.augment.random_crop(self.X[:2], 24, seed=0, padding=2, image_shape=(28, 28))

    def time_random_crop(self):
        sn.augment.random_crop(self.X, 24, seed=0, padding=2, image_shape=(28, 28))


class OptimiserStep:
    """One Adam / momentum-SGD step over the 268 800 parameters of 784-256-256-10."""

    params = ["adam", "sgd"]
    param_names = ["solver"]

    def setup(self, solver):
        rng = np.random.default_rng(0)
        n = 784 * 256 + 256 * 256 + 256 * 10
        self.theta = rng.standard_normal(n + 522, dtype=np.float32)
        self.grad = rng.standard_normal(n + 522, dtype=np.float32)
        self.m, self.v = np.zeros_like(self.theta), np.zeros_like(self.theta)
        self.n_coef = n
        self.time_step(solver)

    def time_step(self, solver):
        if solver == "adam":
            optim.adam_step(self.theta, self.grad, self.m, self.v, self.n_coef,
                            1e-4, 0.0, 1.0, 1e-3, 0.9, 0.999, 1e-8, 10)  # fmt: skip
        else:
            optim.sgd_step(
                self.theta, self.grad, self.m, self.n_coef, 1e-4, 0.0, 1.0, 1e-3, 0.9, True
            )


class Attention:
    """Multi-head attention probabilities, weighted sum and backward, 64 sequences ×
    4 heads × T = 64 × d_k = 16, float32."""

    def setup(self):
        rng = np.random.default_rng(0)
        shape = (64, 4, 64, 16)
        self.q, self.k, self.v, self.do = (
            rng.standard_normal(shape, dtype=np.float32) for _ in range(4)
        )
        self.p = np.empty((64, 4, 64, 64), np.float32)
        self.o = np.empty(shape, np.float32)
        self.grads = [np.empty(shape, np.float32) for _ in range(3)]
        self.ds = np.empty_like(self.p)
        self.lengths = np.empty(0, np.int64)
        self.no_mask = np.empty((0, 4, 64, 64), np.float32)
        self.time_forward()
        self.time_backward()

    def time_forward(self):
        attention.attention_probs(self.q, self.k, self.lengths, False, 0.25, self.p)
        attention.attention_output(self.p, self.v, self.o)

    def time_backward(self):
        attention.attention_backward(self.q, self.k, self.v, self.p, self.p, self.no_mask,
                                     self.do, 0.25, *self.grads, self.ds)  # fmt: skip
