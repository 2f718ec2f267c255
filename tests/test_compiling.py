"""Compiling is announced, timed, shared between processes, and can be done ahead."""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from stochnet import MLPRegressor
from stochnet._runtime import compiling as _compiling

from .background import Command, after_the_test_process

# Kernels of sn.random: a few seconds to compile, so that these processes stay cheap.
DRAWS = """
import stochnet as sn
from stochnet._runtime.compiling import compile_count
u = sn.random.uniform((3,), seed=0)
n = sn.random.normal((3,), seed=0)
print(compile_count(), *u, *n)
"""


def _run(code, cache_dir, *, check=True):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        check=check,
    )


NEW_DTYPES = """
import warnings
import numpy as np
from stochnet.kernels.cpu.checks import count_nonfinite
count_nonfinite(np.zeros(3))
count_nonfinite(np.zeros(3, np.float32))
warnings.filterwarnings("ignore", category=__import__("stochnet").CompileWarning)
count_nonfinite(np.zeros((3, 2))[:, 0])  # another layout: compiles, silently
"""


def notice_processes(folder):
    """On one empty cache: :data:`DRAWS` (cold), :data:`DRAWS` again (warm), then
    :data:`NEW_DTYPES` (kernels of other dtypes and layouts on a cache that has some)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(folder / "cache"))
    return [Command([sys.executable, "-c", code], env=env) for code in (DRAWS, DRAWS, NEW_DTYPES)]


def _notice_runs(background):
    runs = background.result(notice_processes).runs
    assert [run.returncode for run in runs] == [0, 0, 0], runs[-1].stderr[-3000:]
    return runs


@pytest.mark.slow
@pytest.mark.background(check=notice_processes)
def test_a_cold_compile_is_announced_once_and_a_warm_run_is_silent(background):
    cold, warm, _ = _notice_runs(background)
    notices = re.findall(r"CompileWarning: (.*)", cold.stderr)
    assert len(notices) == 1, cold.stderr
    assert "compiling its float64 CPU kernels" in notices[0]
    assert "nothing is cached yet" in notices[0]
    assert "python -m stochnet compile" in notices[0]
    assert int(cold.stdout.split()[0]) > 0

    assert "CompileWarning" not in warm.stderr
    assert int(warm.stdout.split()[0]) == 0
    assert warm.stdout.split()[1:] == cold.stdout.split()[1:]


@pytest.mark.slow
@pytest.mark.background(check=notice_processes)
def test_the_notice_names_a_new_dtype_and_can_be_silenced(background):
    *_, new_dtypes = _notice_runs(background)
    notices = re.findall(r"CompileWarning: (.*)", new_dtypes.stderr)
    assert len(notices) == 1, new_dtypes.stderr
    assert "first use" in notices[0]


@pytest.mark.slow
def test_processes_compiling_at_once_share_one_compile(tmp_path):
    """Two processes start the same kernels on an empty cache at the same moment: one
    compiles them, the other waits and then loads them from the cache: it compiles
    only the kernel it had already started (and a few of its callees), a small
    fraction of the other's count."""
    cache = tmp_path / "cache"
    ready = tmp_path / "ready"
    ready.mkdir()
    barrier = f"""
    import os, sys, time
    import stochnet.kernels.cpu
    open(os.path.join({str(ready)!r}, str(os.getpid())), "w").close()
    while len(os.listdir({str(ready)!r})) < 2:
        time.sleep(0.01)
    """
    code = textwrap.dedent(barrier) + DRAWS
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    counts = sorted(int(out.split()[0]) for out, _ in outputs)
    assert 4 * counts[0] < counts[1], counts
    assert outputs[0][0].split()[1:] == outputs[1][0].split()[1:]


def test_verbose_epoch_times_leave_compiling_out(monkeypatch, capsys):
    """A clock on which every second is spent compiling: the epoch times printed must
    be zero and the compile time reported beside them. (The trainer, imported first,
    keeps the real clock for its chunk sizes.)"""
    import time

    import stochnet.engine.trainer  # noqa: F401

    start = time.perf_counter()
    monkeypatch.setattr(_compiling, "compile_seconds", lambda: time.perf_counter() - start)
    X = np.random.default_rng(0).normal(size=(30, 3))
    MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, verbose=True, random_state=0).fit(X, X[:, 0])
    lines = [line for line in capsys.readouterr().out.splitlines() if "Iteration" in line]
    assert len(lines) == 2
    for line in lines:
        assert abs(float(re.search(r"time = (-?[\d.]+)s", line).group(1))) < 0.01
        assert re.search(r"\(\+ [\d.]+s compiling\)$", line)


def test_compile_time_is_counted_from_numba_events():
    """Nested events (a kernel's callees) count once in the time, each in the count."""
    import time
    import types

    from numba.core import event

    kernel = types.SimpleNamespace(
        py_func=types.SimpleNamespace(__module__="stochnet.fake", __name__="k"), _cache=None
    )
    compile_event = event.Event(
        "numba:compile", event.EventStatus.START, {"dispatcher": kernel, "args": ()}
    )
    listener = _compiling._Listener()
    listener._last_end = time.perf_counter()  # inside a burst: no notice
    listener.on_start(compile_event)
    listener.on_start(compile_event)
    listener.on_end(compile_event)
    assert listener.total_seconds == 0.0
    listener.on_end(compile_event)
    assert listener.total_seconds > 0.0
    assert listener.count == 2


def test_precompile_command_line_parses():
    from stochnet.__main__ import main

    with pytest.raises(SystemExit):
        main(["compile", "--help"])
    with pytest.raises(SystemExit):
        main(["nothing"])


#: Appended to a process's code: the stochnet kernels it has run, as a set of
#: ``(module.qualname, argument types)`` strings pickled to ``argv[1]``.
KERNELS_RUN = """
import gc, pickle, sys
from numba.core.dispatcher import Dispatcher
from stochnet._runtime.compiling import _is_stochnet
kernels = {(f"{d.py_func.__module__}.{d.py_func.__qualname__}", str(args))
           for d in gc.get_objects() if issubclass(type(d), Dispatcher) and _is_stochnet(d)
           for args in d.overloads}
with open(sys.argv[1], "wb") as f:
    pickle.dump(kernels, f)
"""

#: First fits of every default family, at other sizes and options than precompile()'s.
FIRST_FITS = """
import warnings
import numpy as np
import scipy.sparse
import stochnet as sn
from stochnet._runtime.compiling import compile_count
rng = np.random.default_rng(1)
X, y = rng.normal(size=(300, 20)), rng.integers(0, 4, 300)
warnings.simplefilter("ignore")
sn.MLPClassifier().fit(X.astype(np.float32), y).predict(X.astype(np.float32))
big = np.repeat(X, 200, axis=0)  # large enough for the parallel NaN check
big.flags.writeable = False  # and read-only, as joblib hands it to its workers
sn.MLPClassifier((4,), max_iter=1).fit(big, np.repeat(y, 200))
sn.MLPClassifier(early_stopping=True).fit(scipy.sparse.csr_matrix(X), y)
sn.MLPRegressor(max_iter=5).fit(X, X[:, 0]).score(X, X[:, 0])
sn.AttentionClassifier(max_iter=2).fit(X[:50], y[:50]).predict_proba(X[:50])
sn.AttentionClassifier(max_iter=2).fit(X[:50].reshape(50, 5, 4), y[:50])
print(compile_count())
"""


@after_the_test_process
def precompile_then_first_fits(folder):
    """``precompile()`` in a fresh process, then :data:`FIRST_FITS` in another, both on
    the session's kernel cache; each pickles the kernels it ran (:data:`KERNELS_RUN`)
    to ``folder / "<name>.pkl"``."""
    precompile = "from stochnet.precompile import precompile\nprecompile(file=None)\n"
    code = {"precompile": precompile, "first_fits": FIRST_FITS}
    return [
        Command([sys.executable, "-c", source + KERNELS_RUN, str(folder / f"{name}.pkl")])
        for name, source in code.items()
    ]


def _kernels_run(folder, name):
    import pickle

    with open(folder / f"{name}.pkl", "rb") as f:
        return pickle.load(f)


@pytest.mark.slow
@pytest.mark.background(check=precompile_then_first_fits)
def test_precompile_covers_the_first_fit_of_every_default_family(background):
    """After ``precompile()`` a fresh process fits every default family, at other sizes
    and options, without compiling anything; and every kernel it runs (with its
    argument types) is one ``precompile()`` ran, so an empty cache that only
    ``precompile()`` filled would hold it too."""
    finished = background.result(precompile_then_first_fits)
    assert [run.returncode for run in finished.runs] == [0, 0], finished.run.stderr[-3000:]
    assert finished.run.stdout.strip() == "0"
    precompiled = _kernels_run(finished.folder, "precompile")
    first_fits = _kernels_run(finished.folder, "first_fits")
    assert first_fits and not first_fits - precompiled, sorted(first_fits - precompiled)


@pytest.mark.slow
@pytest.mark.background(check=precompile_then_first_fits)
def test_the_forward_and_backward_passes_compile_once_per_dtype_and_input(background):
    """Training (writable parameters, constant flags), prediction (read-only ones) and
    a model read back from a pickle share one compiled forward and backward pass per
    dtype and kind of input: once this session's tests and ``precompile()`` have run,
    the kernel cache holds no second one for this machine."""
    import collections

    from stochnet.kernels.cpu import encoder, mlp

    background.result(precompile_then_first_fits)
    # the position of the batch input (dense or CSR) in each pass's arguments
    batch = {mlp.forward: 3, mlp.backward: 4, encoder.forward: None, encoder.backward: None}
    for kernel, position in batch.items():
        index = _compiling._index(kernel)
        assert index is not None, f"{kernel} has no cache index"
        _, _, overloads = index
        machine = kernel.targetctx.codegen().magic_tuple()
        kinds = collections.Counter()
        for key in overloads:
            if key[1] == machine:
                args = _compiling._key_args(key)
                kinds[args[0].dtype, position and type(args[position]).__name__] += 1
        assert kinds and max(kinds.values()) == 1, (kernel, kinds)


def _fake_kernel(folder):
    """A stand-in for a kernel's dispatcher whose cache index lives in ``folder``."""
    import types

    cache_file = types.SimpleNamespace(_index_path=str(folder / "k.nbi"))
    cache = types.SimpleNamespace(_cache_file=cache_file, _cache_path=str(folder))
    return types.SimpleNamespace(_cache=cache)


def _write_index(folder, version, stamp, keys):
    import pickle

    with open(folder / "k.nbi", "wb") as f:
        pickle.dump(version, f)
        f.write(pickle.dumps((stamp, {key: "k.0.nbc" for key in keys})))


def test_the_notice_says_why_it_compiles(tmp_path):
    import numba
    from numba import types

    from stochnet._runtime.cache import kernel_tree_hash

    kernel = _fake_kernel(tmp_path)
    args = (types.float32[:, ::1], types.int64)
    assert _compiling.why(kernel, args) == "nothing is cached yet for this installation"
    (tmp_path / "other.nbi").write_bytes(b"")
    assert _compiling.why(kernel, args) == "first use of these float32 kernels"
    _write_index(tmp_path, "0.1.0", b"", [])
    assert "made by Numba 0.1.0" in _compiling.why(kernel, args)
    _write_index(tmp_path, numba.__version__, b"old tree", [])
    assert _compiling.why(kernel, args) == "stochnet's kernels changed since they were cached"
    other_cpu = ((args, ("x86_64", "another-cpu", "+avx"), ()),)
    _write_index(tmp_path, numba.__version__, kernel_tree_hash(), other_cpu)
    assert _compiling.why(kernel, args) == "the cache was made on a CPU of another kind"
    _write_index(tmp_path, numba.__version__, kernel_tree_hash(), [])
    assert _compiling.why(kernel, args) == "first use with these float32 arguments"
