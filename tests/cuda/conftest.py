"""CUDA kernel tests: run on a GPU, or on Numba's simulator with NUMBA_ENABLE_CUDASIM=1
(``tests/test_cuda.py`` starts that process). Skipped when neither is available."""

import os
from pathlib import Path

import pytest

import stochnet

HERE = Path(__file__).resolve().parent

# Real-GPU launch path (view-caching arrays, fast launches): nothing to run on the
# simulator, whose test process must report no skips.
collect_ignore = ["test_cuda_launch.py"] if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else []


def pytest_collection_modifyitems(config, items):
    # Called with every item of the session, not only this directory's.
    if stochnet.cuda_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU and NUMBA_ENABLE_CUDASIM is not set")
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(params=[(4, None), (32, None), (8, 2)], ids=["tpb4", "tpb32", "tpb8-2blocks"])
def geometry(request, monkeypatch):
    """Launch geometries: threads per block, and optionally a cap on the blocks (so the
    grid-stride loops wrap around)."""
    from stochnet import _config
    from stochnet.kernels.cuda import launch

    threads, max_blocks = request.param
    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", threads)
    if max_blocks is not None:
        monkeypatch.setattr(launch, "MAX_BLOCKS", max_blocks)
    return request.param


@pytest.fixture(autouse=True)
def small_simulated_blocks(monkeypatch):
    """On the simulator (one Python thread per CUDA thread) shrink the blocks: the
    default launch width, the matrix-product tiles and the reductions. Not on a GPU:
    there the tile and reduction sizes are compiled into the kernels' shared arrays."""
    from numba import cuda

    if not cuda.config.ENABLE_CUDASIM:
        return
    from stochnet import _config
    from stochnet.kernels.cuda import dense, reduce

    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 16)
    monkeypatch.setattr(dense, "TILE", 8)  # fewer blocks: the simulator polls its threads
    monkeypatch.setattr(reduce, "REDUCE_BLOCKS", 2)
    monkeypatch.setattr(reduce, "REDUCE_THREADS", 8)
