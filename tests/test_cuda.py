"""The CUDA backend without a GPU: the kernel tests on Numba's CUDA simulator (a
separate process), PTX for compute capability 9.0, and the errors of device="cuda"."""

import importlib
import inspect
import os
import sys
import types
from pathlib import Path
from unittest import mock

import pytest

import stochnet as sn

from .background import Command, after_the_test_process

ROOT = Path(__file__).resolve().parent.parent
cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="already inside the simulator"
)


@after_the_test_process  # it compares with the CPU kernels the tests have compiled by then
def simulated_cuda_tests(folder):
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ROOT / "tests/cuda"]
    return Command(argv, env=env, cwd=ROOT)


@pytest.mark.slow
@pytest.mark.background(check=simulated_cuda_tests)
def test_kernels_on_the_simulator(background):
    result = background.result(simulated_cuda_tests).run
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout.split("\n")[-2]


def _signatures():
    from numba import types as nt

    f32, f64, u64, i64 = nt.float32, nt.float64, nt.uint64, nt.int64
    vec = nt.Array(f32, 1, "C")
    v64 = nt.Array(f64, 1, "C")
    mat = nt.Array(f32, 2, "C")
    cube, cube64 = nt.Array(f32, 3, "C"), nt.Array(f64, 3, "C")
    quad, ivec = nt.Array(f32, 4, "C"), nt.Array(i64, 1, "C")
    return {
        "rng._fill_uniform": [(vec, nt.boolean, u64, u64, u64, i64),
                              (nt.Array(f64, 1, "C"), nt.boolean, u64, u64, u64, i64)],
        "rng._fill_normal": [(vec, u64, u64, u64, i64)],
        "rng._fill_keep_mask": [(nt.Array(nt.boolean, 1, "C"), u64, u64, u64, u64, i64)],
        "rng._permutation": [(nt.Array(i64, 1, "C"), u64, u64, u64)],
        "dropout._dropout_forward": [(vec, vec, u64, f64, u64, u64, u64, i64)],
        "dropout._dropout_backward": [(vec, vec)],
        "noise._add_gaussian_noise": [(vec, f64, u64, u64, u64, i64)],
        "crop._random_offsets": [(i64, i64, u64, u64, u64, i64, nt.Array(i64, 2, "C"))],
        "crop._crop_rows": [(mat, mat, *([i64] * 8), nt.Array(i64, 2, "C"))],
        "prune._apply_mask": [(vec, vec, vec, vec)],
        "reduce._block_sums": [(vec, i64, nt.Array(f64, 2, "C")),
                               (v64, i64, nt.Array(f64, 2, "C"))],
        "reduce._combine": [(nt.Array(f64, 2, "C"), i64, i64, v64, i64)],
        "dense._matmul_f32": [(cube, cube, cube, nt.boolean, nt.boolean)],
        "dense._matmul_f64": [(cube64, cube64, cube64, nt.boolean, nt.boolean)],
        "dense._matmul_flat": [(cube, cube, cube, nt.boolean, nt.boolean),
                               (cube64, cube64, cube64, nt.boolean, nt.boolean)],
        "dense._add_bias": [(mat, vec)],
        "dense._column_sums": [(mat, vec)],
        "activations._activate": [(i64, vec, vec)],
        "activations._activation_backward": [(i64, vec, vec)],
        "losses._output_activation": [(i64, mat, mat)],
        "losses._output_loss": [(i64, mat, mat, mat, vec, mat, v64)],
        "optim._sgd": [(vec, vec, vec, i64, f64, f64, v64, f64, f64, nt.boolean)],
        "optim._adam": [(vec, vec, vec, vec, i64, f64, f64, v64, f64, f64, f64, f64)],
        "batch._gather_rows": [(mat, nt.Array(i64, 1, "C"), i64, i64, mat)],
        "batch._finish_weights": [(v64, i64, f64, nt.boolean)],
        "crop._gather_crops": [(mat, nt.Array(i64, 1, "C"), i64, i64, mat, *([i64] * 8),
                                nt.boolean, u64, u64, u64)],
        "layernorm._layernorm_forward": [(mat, vec, vec, mat, vec, mat)],
        "layernorm._layernorm_param_grads": [(mat, mat, vec, vec)],
        "layernorm._layernorm_input_grads": [(mat, vec, mat, vec, mat)],
        "attention._heads_from_rows": [(mat, i64, quad)],
        "attention._rows_from_heads": [(quad, mat, i64)],
        "attention._scaled_masked_softmax": [(quad, ivec, nt.boolean, f64)],
        "attention._softmax_backward": [(quad, quad, nt.boolean, f64, quad)],
        "tokens._clear_padding": [(mat, ivec, i64)],
        "tokens._add_positions": [(mat, mat)],
        "tokens._embed_per_token": [(mat, cube, mat, mat)],
        "tokens._position_grads": [(mat, mat)],
        "tokens._embed_per_token_grads": [(mat, mat, cube)],
        "tokens._pool_forward": [(mat, ivec, i64, mat)],
        "tokens._pool_backward": [(mat, ivec, i64, mat)],
        "elementwise._fill": [(vec, f64)],
        "elementwise._add_into": [(vec, vec)],
    }  # fmt: skip


def _kernels():
    """Every ``@cuda.jit`` kernel of ``stochnet.kernels.cuda``, by ``module.name``."""
    found = {}
    for path in sorted((ROOT / "stochnet/kernels/cuda").glob("[!_]*.py")):
        module = importlib.import_module(f"stochnet.kernels.cuda.{path.stem}")
        for name, obj in inspect.getmembers(module):
            is_dispatcher = hasattr(obj, "py_func") and hasattr(obj, "overloads")
            if is_dispatcher and not obj.targetoptions.get("device", False):
                found[f"{path.stem}.{name}"] = obj
    return found


@pytest.mark.slow
def test_every_kernel_compiles_to_ptx_for_sm90():
    from numba.cuda import dispatcher

    kernels = _kernels()
    signatures = _signatures()
    assert set(kernels) == set(signatures), "give every new kernel a signature here"
    # numba-cuda asks the driver for the current device's compute capability when it
    # compiles a device function called from a kernel, even for compile_ptx with an
    # explicit cc: stand in a device of cc 9.0 so that no GPU is needed.
    fake_device = types.SimpleNamespace(compute_capability=(9, 0))
    with mock.patch.object(dispatcher, "get_current_device", lambda: fake_device):
        for name, kernel in kernels.items():
            for signature in signatures[name]:
                ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
                assert ".target sm_90" in ptx, name


def test_device_errors_are_clear():
    if not sn.cuda_available():
        with pytest.raises(RuntimeError, match="no usable CUDA GPU"):
            sn.random.uniform(3, 0, device="cuda")
        with pytest.raises(RuntimeError, match="no usable CUDA GPU"):
            sn.MLPClassifier(device="cuda").fit([[0.0], [1.0]], [0, 1])
        clf = sn.MLPClassifier((3,), max_iter=1, device="auto")
        with pytest.warns(Warning):
            clf.fit([[0.0], [1.0]], [0, 1])
        assert clf._network.device == "cpu"
    assert sn.random.uniform(3, 0, device="auto").shape == (3,)
