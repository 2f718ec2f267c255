"""The GPU launch path: view-caching arrays and launches that bypass Numba's dispatcher
after the first (real GPU only: the simulator uses Numba's own arrays and launches)."""

import numpy as np
import pytest
from numba import cuda

from stochnet import _config
from stochnet.kernels.cuda import arrays, dense, elementwise
from stochnet.kernels.cuda.launch import Kernel, cuda_kernel

pytestmark = pytest.mark.skipif(cuda.config.ENABLE_CUDASIM, reason="real GPU only")


@cuda_kernel
def _scaled_sum(x, y, scale, flag, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = scale * x[i] + (y[i, 1] if flag else y[i, 0])


def test_views_are_made_once_and_see_the_same_memory():
    host = np.arange(24, dtype=np.float32)
    a = arrays.to_device(host)
    assert isinstance(a, arrays.ViewCachingArray)
    block = a[4:16].reshape((3, 4))
    assert block is a[4:16].reshape((3, 4))
    assert isinstance(block, arrays.ViewCachingArray)
    np.testing.assert_array_equal(block.copy_to_host(), host[4:16].reshape(3, 4))
    assert a[5] == 5.0  # element reads are not views
    elementwise.fill(block[1], 7.0)
    expected = host.copy()
    expected[8:12] = 7.0
    np.testing.assert_array_equal(a.copy_to_host(), expected)
    for stop in range(arrays.MAX_VIEWS + 10):  # the memo is bounded
        a[:stop]
    assert len(a.__dict__["_views"]) <= arrays.MAX_VIEWS


@pytest.mark.parametrize("fast", [True, False])
def test_fast_launches_equal_numba_launches(fast, monkeypatch):
    monkeypatch.setattr(_config, "CUDA_FAST_LAUNCH", fast)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=100).astype(np.float32), rng.normal(size=(100, 2)).astype(np.float32)
    d_x, d_y = arrays.to_device(x), arrays.to_device(y)
    plain = cuda.to_device(x)  # a Numba array, not view-caching: marshalled every launch
    out = arrays.device_array(100, np.float32)
    assert isinstance(_scaled_sum, Kernel)
    for scale, flag, source in [
        (2.0, True, d_x),
        (np.float32(0.5), False, plain),
        (-1.0, np.bool_(True), d_x[:100]),
    ]:
        for _ in range(2):  # the second launch takes the fast path
            _scaled_sum[4, 32](source, d_y, scale, flag, out)
        expected = np.float32(scale) * x + (y[:, 1] if flag else y[:, 0])
        np.testing.assert_allclose(out.copy_to_host(), expected, rtol=1e-6)
    # Host arrays still go through Numba's path (copied over and back).
    host_out = np.zeros(100, np.float32)
    _scaled_sum[4, 32](x, y, 1.0, False, host_out)
    np.testing.assert_allclose(host_out, x + y[:, 0], rtol=1e-6)


def test_cublas_views_are_cached_on_the_arrays():
    if dense.matmul_backend() != "cublas":
        pytest.skip("CuPy is not installed")
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)
    d_a, d_b = arrays.to_device(a), arrays.to_device(b)
    d_c = arrays.device_array((5, 4), np.float32)
    for _ in range(2):
        dense.matmul(d_a, d_b, d_c, trans_b=True)
        np.testing.assert_allclose(d_c.copy_to_host(), a @ b.T, rtol=1e-5)
    assert "_cupy_views" in d_b.__dict__
