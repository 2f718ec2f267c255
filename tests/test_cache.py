"""The kernel cache is invalidated by a change anywhere in the kernel tree."""

import os
import sys
import textwrap

import numba
import pytest

from stochnet._runtime import cache as _cache
from stochnet.kernels.cpu import epoch

from .background import Command


def test_kernel_files_use_the_tree_stamped_locators():
    locator = epoch.train_batches._cache._impl.locator
    assert type(locator) in _cache.LOCATORS
    assert locator.get_source_stamp() == _cache.kernel_tree_hash()


def test_other_files_keep_numbas_locators():
    @numba.njit(cache=True)
    def elsewhere(x):
        return x

    assert type(elsewhere._cache._impl.locator) not in _cache.LOCATORS


IDENTITY_OUTPUT_OF_MINUS_TWO = textwrap.dedent(
    """
    import sys
    import numpy as np
    import stochnet
    from stochnet.kernels.codes import SQUARED_ERROR
    from stochnet.kernels.cpu.losses import output_activation
    assert stochnet.__file__.startswith(sys.argv[1]), stochnet.__file__
    out = np.empty((1, 1))
    output_activation(SQUARED_ERROR, np.array([[-2.0]]), out)
    print(out[0, 0])
    """
)
COPY_PACKAGE = (
    "import shutil, sys\n"
    "shutil.copytree(sys.argv[1], sys.argv[2], ignore=shutil.ignore_patterns('__pycache__'))"
)
IDENTITY = "elif loss == SQUARED_ERROR:\n        for j in range(k):\n            a[i, j] = z[i, j]"
MAKE_IDENTITY_HALVE = (
    "import pathlib, sys\n"
    "path = pathlib.Path(sys.argv[1])\n"
    "old = path.read_text()\n"
    f"new = old.replace({IDENTITY!r}, {IDENTITY!r} + ' * 0.5')\n"
    "assert new != old\n"
    "path.write_text(new)"
)


def edit_a_callee(folder):
    """Copy the package into ``folder``; a kernel (``losses.output_activation``) runs,
    its callee's file only (``shared/math_source.py``) is edited, the kernel runs."""
    import stochnet

    python, env = sys.executable, dict(os.environ, PYTHONPATH=str(folder))
    run = Command([python, "-c", IDENTITY_OUTPUT_OF_MINUS_TWO, str(folder)], env=env, cwd=folder)
    math_source = folder / "stochnet" / "kernels" / "shared" / "math_source.py"
    return [
        Command([python, "-c", COPY_PACKAGE, os.path.dirname(stochnet.__file__),
                 str(folder / "stochnet")]),
        run,
        Command([python, "-c", MAKE_IDENTITY_HALVE, str(math_source)]),
        run,
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.background(check=edit_a_callee)
def test_editing_a_callee_recompiles_its_callers(background):
    """The caller must see the edit (with Numba's own stamps it would reuse the stale
    cached caller)."""
    runs = background.result(edit_a_callee).runs
    assert [run.returncode for run in runs] == [0, 0, 0, 0], runs[-1].stderr[-3000:]
    assert float(runs[1].stdout) == -2.0
    assert float(runs[3].stdout) == -1.0


PRODUCT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from stochnet.kernels.cpu import dense
    x = np.ones((4, 5), sys.argv[1])
    z = np.empty((4, 3), sys.argv[1])
    dense.dense_forward(x, np.ones((5, 3), x.dtype), np.zeros(3, x.dtype), z)
    print(z.sum())
    """
)


def products_on_one_cache(folder):
    """Process 1 compiles a product kernel for float64, process 2 for float32 (reading
    the dtype-free parallel tile loop from the cache), process 3 reads the float32
    kernel from the cache."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(folder))
    return [Command([sys.executable, "-c", PRODUCT, dtype], env=env)
            for dtype in ("float64", "float32", "float32")]  # fmt: skip


@pytest.mark.slow
@pytest.mark.background(check=products_on_one_cache)
def test_a_kernel_compiled_against_cached_parallel_callees_loads_in_a_new_process(background):
    """The third process must run the kernel it loaded (it crashed when the thread pool
    started after the kernel was loaded)."""
    runs = background.result(products_on_one_cache).runs
    assert [run.returncode for run in runs] == [0, 0, 0], runs[-1].stderr[-2000:]
    assert [float(run.stdout) for run in runs] == [60.0, 60.0, 60.0]


def test_an_index_naming_a_moved_class_reads_as_empty(tmp_path, monkeypatch):
    """An index from an earlier stochnet may pickle a class that has moved since: a
    stochnet kernel's reads as empty (it recompiles); anyone else's still raises."""
    import pickle
    import sys
    import types

    import numba
    from numba.core import caching

    import stochnet.kernels.cpu  # noqa: F401  (registers the tolerant loader)

    module = types.ModuleType("stochnet_moved_away")
    Moved = type("Moved", (), {"__module__": "stochnet_moved_away"})
    module.Moved = Moved
    monkeypatch.setitem(sys.modules, "stochnet_moved_away", module)
    payload = pickle.dumps((b"stamp", {Moved: "entry.1.nbc"}))
    del module.Moved
    for folder, ours in ((tmp_path / "stochnet" / "kernels" / "cpu", True), (tmp_path, False)):
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "entry.nbi", "wb") as f:
            pickle.dump(numba.__version__, f)
            f.write(payload)
        index = caching.IndexDataCacheFile(str(folder), "entry", b"stamp")
        if ours:
            assert index._load_index() == {}
        else:
            with pytest.raises(AttributeError):
                index._load_index()
