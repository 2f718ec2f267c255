"""``checkpoint=``: a killed fit resumes to the bits of an uninterrupted one."""

import itertools
import os
import random
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stochnet as sn
from stochnet import io as snio
from stochnet._runtime import files as _files
from stochnet.engine import trainer as trainer_module
from stochnet.estimators import _checkpoint

from .conftest import FORK_SAFE_THREADS, examples, toy_problem

X, y_class, y_reg = toy_problem(150)

CASES = {
    "adam, dropout, noise": (
        sn.MLPClassifier, dict(hidden_layer_sizes=(16,), dropout=0.2, input_noise=0.1), y_class,
    ),
    "sgd adaptive, early stopping": (
        sn.MLPClassifier,
        dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate="adaptive",
             learning_rate_init=0.05, early_stopping=True, validation_fraction=0.2,
             n_iter_no_change=2, tol=1e-3),
        y_class,
    ),
    "sgd invscaling, pruned, sample weights": (
        sn.MLPRegressor,
        dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate="invscaling",
             learning_rate_init=0.01, prune=0.5),
        y_reg,
    ),
    "crops": (
        sn.MLPRegressor,
        dict(hidden_layer_sizes=(8,), augment=sn.RandomCrop(2, padding=1, image_shape=(2, 3))),
        y_reg,
    ),
    "sparse input": (sn.MLPClassifier, dict(hidden_layer_sizes=(8,), alpha=1e-2), y_class),
    "attention, dropout": (
        sn.AttentionClassifier, dict(d_model=8, n_heads=2, d_ff=8, dropout=0.1), y_class,
    ),
    "attention regressor, early stopping": (
        sn.AttentionRegressor,
        dict(d_model=8, n_heads=2, d_ff=8, attention_dropout=0.1, early_stopping=True),
        y_reg,
    ),
}  # fmt: skip

MAX_ITER = 8


@pytest.fixture
def every_epoch(monkeypatch):
    """Write a checkpoint at every epoch end (the default waits seconds)."""
    monkeypatch.setattr(_checkpoint, "MIN_INTERVAL", 0.0)
    monkeypatch.setattr(_checkpoint, "COST_RATIO", 0.0)


@pytest.fixture
def epochs(monkeypatch):
    """Count the epochs trained; ``epochs.fail_at = (n, exc)`` raises ``exc`` instead of
    running epoch ``n`` (1-based) of the process."""
    original = trainer_module.Trainer.run_epoch

    class Counter:
        count = 0
        fail_at = None

        def run_epoch(self, trainer, *args, **kwargs):
            self.count += 1
            if self.fail_at is not None and self.count == self.fail_at[0]:
                raise self.fail_at[1]
            return original(trainer, *args, **kwargs)

    counter = Counter()
    monkeypatch.setattr(
        trainer_module.Trainer, "run_epoch", lambda t, *a, **k: counter.run_epoch(t, *a, **k)
    )
    return counter


def _model(case, path):
    cls, params, y = CASES[case]
    model = cls(max_iter=MAX_ITER, batch_size=32, random_state=0, checkpoint=path, **params)
    data = scipy.sparse.csr_matrix(np.where(X > 0.5, X, 0.0)) if case == "sparse input" else X
    sample_weight = np.linspace(0.5, 2.0, len(y)) if "sample weights" in case else None
    return model, data, y, sample_weight


def _fit(model, X_, y, sample_weight):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X_, y, sample_weight=sample_weight)


def assert_same_fit(a, b):
    np.testing.assert_array_equal(a.parameters_, b.parameters_)
    assert a.n_iter_ == b.n_iter_ and a.t_ == b.t_
    assert a.loss_curve_ == b.loss_curve_
    assert a.validation_scores_ == b.validation_scores_
    assert a.best_loss_ == b.best_loss_


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_crashed_fit_resumes_to_the_same_bits(case, tmp_path, every_epoch, epochs):
    path = tmp_path / "fit.ckpt"
    straight, *data = _model(case, None)
    _fit(straight, *data)
    epochs.fail_at = (epochs.count + 5, RuntimeError("killed"))
    with pytest.raises(RuntimeError, match="killed"):
        _fit(_model(case, path)[0], *data)
    done = snio.load(path).n_iter_
    assert done == min(4, straight.n_iter_)
    before = epochs.count
    resumed = _fit(_model(case, path)[0], *data)
    assert_same_fit(resumed, straight)
    assert epochs.count - before == straight.n_iter_ - done  # the work done is skipped
    assert not path.exists()  # removed on success


def test_ctrl_c_writes_the_checkpoint_before_fit_returns(tmp_path, epochs):
    """No periodic write yet (the default waits seconds): Ctrl-C writes the last
    complete epoch, and the next fit continues from there."""
    path = tmp_path / "fit.ckpt"
    case = "adam, dropout, noise"
    straight, *data = _model(case, None)
    _fit(straight, *data)
    epochs.fail_at = (epochs.count + 4, KeyboardInterrupt())
    with pytest.warns(UserWarning, match="interrupted after 3 complete"):
        interrupted = _model(case, path)[0].fit(*data[:2])
    assert interrupted.n_iter_ == 3 and snio.load(path).n_iter_ == 3
    assert_same_fit(_fit(interrupted, *data), straight)
    assert not path.exists()


def test_a_checkpoint_of_another_fit_is_refused_and_kept(tmp_path, every_epoch, epochs):
    path = tmp_path / "fit.ckpt"
    model, X_, y, _ = _model("adam, dropout, noise", path)
    epochs.fail_at = (epochs.count + 3, RuntimeError("killed"))
    with pytest.raises(RuntimeError):
        _fit(model, X_, y, None)
    saved = path.read_bytes()
    other_params = _model("adam, dropout, noise", path)[0].set_params(alpha=0.5, max_iter=9)
    with pytest.raises(ValueError, match=r"parameters: alpha=0\.0001 \(now 0\.5\), max_iter"):
        _fit(other_params, X_, y, None)
    with pytest.raises(ValueError, match="data: X differ"):
        _fit(_model("adam, dropout, noise", path)[0], X_ + 1.0, y, None)
    with pytest.raises(ValueError, match="data: y, sample_weight differ"):
        _fit(_model("adam, dropout, noise", path)[0], X_, 2 - y, np.ones(len(y)))
    regressor = sn.MLPRegressor(hidden_layer_sizes=(16,), max_iter=MAX_ITER, checkpoint=path)
    with pytest.raises(ValueError, match="estimator \\(MLPClassifier, not MLPRegressor\\)"):
        _fit(regressor, X_, y, None)
    assert path.read_bytes() == saved  # never overwritten
    verbose = _model("adam, dropout, noise", path)[0].set_params(verbose=False)
    assert _fit(verbose, X_, y, None).n_iter_ == MAX_ITER  # verbose does not count


def test_a_model_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "model.npz"
    snio.save(_fit(sn.MLPClassifier((4,), max_iter=2), X, y_class, None), path)
    with pytest.raises(ValueError, match="is a model file, not a checkpoint"):
        _fit(sn.MLPClassifier((4,), max_iter=2, checkpoint=path), X, y_class, None)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(checkpoint=3), "'checkpoint' parameter must be None or a path"),
        (dict(checkpoint="x.ckpt", solver="lbfgs"), "solver='lbfgs' has none"),
        (dict(checkpoint="x.ckpt", init=lambda shape, rng: np.zeros(shape)), "can hold"),
    ],
)
def test_bad_checkpoint_settings(params, match):
    with pytest.raises(ValueError, match=match):
        sn.MLPClassifier((4,), max_iter=2, **params).fit(X, y_class)


def test_writes_are_spaced_by_their_cost(monkeypatch, tmp_path):
    """First write after MIN_INTERVAL s; then at least COST_RATIO × the last write's
    duration apart, so that writing costs at most 1/COST_RATIO of the fit."""
    now = [0.0]
    monkeypatch.setattr(_checkpoint.time, "perf_counter", lambda: now[0])

    def slow_write(estimator, path, **sections):
        now[0] += 0.5

    monkeypatch.setattr(snio, "write", slow_write)
    checkpoint = _checkpoint.Checkpoint(tmp_path / "c", sn.MLPClassifier(), {"X": X})
    now[0] = _checkpoint.MIN_INTERVAL - 0.01
    assert not checkpoint.due()
    now[0] = _checkpoint.MIN_INTERVAL
    assert checkpoint.due()
    checkpoint.write(None)
    now[0] += _checkpoint.COST_RATIO * 0.5 - 0.01
    assert not checkpoint.due()
    now[0] += 0.01
    assert checkpoint.due()


def test_an_ensemble_resumes_and_skips_its_finished_members(tmp_path, every_epoch, epochs):
    path = tmp_path / "ens.ckpt"
    make = lambda: sn.EnsembleClassifier(  # noqa: E731
        sn.MLPClassifier((8,), max_iter=4, dropout=0.1),
        n_estimators=3,
        random_state=0,
        checkpoint=path,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight = make().set_params(checkpoint=None).fit(X, y_class)
        epochs.fail_at = (epochs.count + 10, RuntimeError("killed"))  # member 2, epoch 2
        with pytest.raises(RuntimeError):
            make().fit(X, y_class)
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            f"ens.member{i}.ckpt" for i in range(3)
        ]
        before = epochs.count
        resumed = make().fit(X, y_class)
    assert epochs.count - before == 3  # members 0 and 1 were done, member 2 had 1 epoch
    for a, b in zip(straight.estimators_, resumed.estimators_, strict=True):
        assert_same_fit(a, b)
    assert list(tmp_path.iterdir()) == []


def test_ensemble_checkpoints_need_members_that_take_them(tmp_path):
    from sklearn.linear_model import SGDClassifier

    ens = sn.EnsembleClassifier(SGDClassifier(), n_estimators=2, checkpoint=tmp_path / "e")
    with pytest.raises(ValueError, match="SGDClassifier has none"):
        ens.fit(X, y_class)


def test_the_epoch_loss_does_not_depend_on_the_chunking():
    """Each compiled call continues the epoch's running sums: one batch per call and
    all batches in one call give the same bits."""
    from stochnet.engine import Adam, MLPNetwork, Trainer

    losses = []
    for chunk_seconds in (0.0, 1e9):
        net = MLPNetwork((6, 16, 3)).initialize("he_normal", 1)
        trainer = Trainer(net, Adam(1e-2, 0.9, 0.999, 1e-8), 8, alpha=0.1, l1=0.01, keys=1,
                          chunk_seconds=chunk_seconds)  # fmt: skip
        Y = np.eye(3)[y_class]
        losses.append([trainer.run_epoch(X, Y) for _ in range(3)])
    assert losses[0] == losses[1]


def test_a_failed_write_leaves_the_previous_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"previous")

    def failing(file):
        file.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _files.replace_atomically(path, failing)
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["f"]


def test_orphaned_temporary_files_are_removed(tmp_path):
    path = tmp_path / "fit.ckpt"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    orphan = _files.temporary_name(path, int(dead))
    alive = _files.temporary_name(path, os.getppid())
    for name in (orphan, alive):
        open(name, "wb").close()
    _files.remove_orphans(path)
    assert not os.path.exists(orphan) and os.path.exists(alive)


# ------------------------------------------------------------------ bad files
@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    """A real mid-fit checkpoint (trainer, optimiser state, early stopping, record)."""
    path = tmp_path_factory.mktemp("ckpt") / "fit.ckpt"
    model, X_, y, _ = _model("sgd adaptive, early stopping", path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.set_params(max_iter=3).fit(X_, y)
    _checkpoint.Checkpoint(path, model, {}).write(model)
    return path.read_bytes()


@settings(max_examples=examples(100), suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_checkpoints_raise_only_value_error(data, checkpoint_bytes, tmp_path_factory):
    """Byte flips, insertions and truncations of a checkpoint: resuming either works or
    raises ValueError/OSError."""
    blob = bytearray(checkpoint_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(blob) - 1)) if blob else 0
        op = data.draw(st.sampled_from(["flip", "insert", "truncate"]))
        if op == "flip" and blob:
            blob[at] = data.draw(st.integers(0, 255))
        elif op == "insert":
            blob[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        else:
            del blob[at:]
    path = tmp_path_factory.mktemp("fuzz") / "fit.ckpt"
    path.write_bytes(bytes(blob))
    model = _model("sgd adaptive, early stopping", path)[0].set_params(max_iter=3)
    checkpoint = _checkpoint.Checkpoint(path, model, {})
    try:
        checkpoint.resume(model)
    except (ValueError, OSError):
        return
    model.predict(X)  # whatever resumes is a working model


# -------------------------------------------------------------------- SIGKILL
KILLED_FIT = textwrap.dedent(
    """
    import os, sys, time, warnings
    import numpy as np
    from sklearn.datasets import load_digits
    import stochnet as sn
    from stochnet import io as snio
    from stochnet.engine import trainer
    from stochnet.estimators import _checkpoint

    warnings.simplefilter("ignore")
    _checkpoint.MIN_INTERVAL = _checkpoint.COST_RATIO = 0.0
    path, out = sys.argv[1], sys.argv[2]
    original_replace = snio.replace_atomically

    def announced_replace(target, write):
        def slow_write(file):
            print("WRITING", flush=True)
            time.sleep(0.02)  # a window for the parent to kill mid-write
            write(file)
        original_replace(target, slow_write)

    snio.replace_atomically = announced_replace
    run_epoch, epochs = trainer.Trainer.run_epoch, [0]

    def counted(self, *args, **kwargs):
        epochs[0] += 1
        return run_epoch(self, *args, **kwargs)

    trainer.Trainer.run_epoch = counted
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16, y[:400]

    def fit():
        start = snio.load(path).n_iter_ if os.path.exists(path) else 0
        print("START", start, flush=True)
        model = sn.MLPClassifier((32,), dropout=0.1, input_noise=0.05, early_stopping=True,
                                 n_iter_no_change=1000, max_iter=100, batch_size=50,
                                 random_state=0, checkpoint=path).fit(X, y)
        np.savez(out, theta=model.parameters_, loss_curve=model.loss_curve_,
                 scores=model.validation_scores_, n_iter=model.n_iter_, start=start,
                 epochs=epochs[0])

    if sys.argv[3:] == ["--fork"]:
        # One fit per line on stdin, each in a fork of this process: the fits to kill
        # skip the interpreter start and the imports. No kernel has run here, so no
        # thread pool is forked.
        for _ in sys.stdin:
            pid = os.fork()
            if pid == 0:
                fit()
                os._exit(0)
            print("PID", pid, flush=True)
            print("ENDED", os.waitpid(pid, 0)[1], flush=True)
    else:
        fit()
    """
)


class _Forks:
    """The ``--fork`` server of :data:`KILLED_FIT`: :meth:`fit` starts one fit and
    returns its process id and a stream of its output lines."""

    def __init__(self, path, out):
        self._server = subprocess.Popen(
            [sys.executable, "-c", KILLED_FIT, str(path), str(out), "--fork"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, **FORK_SAFE_THREADS),
        )

    def fit(self):
        self._server.stdin.write("fit\n")
        self._server.stdin.flush()
        pid, lines = None, []
        for line in self._server.stdout:
            if line.startswith("PID"):
                pid = int(line.split()[1])
                break
            lines.append(line)  # the fit may print before the server names it
        return pid, itertools.chain(lines, self._lines())

    def _lines(self):
        for line in self._server.stdout:
            if line.startswith("ENDED"):
                self.status = int(line.split()[1])
                return
            yield line

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._server.kill()
        self._server.communicate()


def _kill_one_fit(forks, chooser):
    """Start a fit and SIGKILL it at a random moment: as it starts, in the middle of a
    checkpoint write, or between writes. Returns the moment and the epoch it resumed at."""
    import signal

    pid, lines = forks.fit()
    moment = chooser.choice(["startup", "mid-write", "between"])
    writes = chooser.randint(1, 3)
    start = None
    for line in lines:
        if line.startswith("START"):
            start = int(line.split()[1])
            if moment == "startup":
                break
        if line.startswith("WRITING"):
            writes -= 1
            if writes == 0:
                if moment == "between":  # somewhere in the epoch after this write
                    time.sleep(chooser.uniform(0.0, 0.05))
                break
    else:
        pytest.fail("the fit ended before its kill")
    os.kill(pid, signal.SIGKILL)
    for line in lines:  # until the server reports the end
        if start is None and line.startswith("START"):
            start = int(line.split()[1])
    assert os.WIFSIGNALED(forks.status) and os.WTERMSIG(forks.status) == signal.SIGKILL
    return moment, start


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and fork")
def test_sigkill_at_random_moments_then_resume_gives_the_same_bits(tmp_path):
    from sklearn.datasets import load_digits

    path, out = tmp_path / "fit.ckpt", tmp_path / "out.npz"
    chooser = random.Random(12)
    with _Forks(path, out) as forks:
        moments, starts = zip(*(_kill_one_fit(forks, chooser) for _ in range(22)), strict=True)
    subprocess.run(
        [sys.executable, "-c", KILLED_FIT, str(path), str(out)], check=True, capture_output=True
    )
    X_, y_ = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight = sn.MLPClassifier((32,), dropout=0.1, input_noise=0.05, early_stopping=True,
                                    n_iter_no_change=1000, max_iter=100, batch_size=50,
                                    random_state=0).fit(X_[:400] / 16, y_[:400])  # fmt: skip
    result = np.load(out)
    np.testing.assert_array_equal(result["theta"], straight.parameters_)
    assert result["loss_curve"].tolist() == straight.loss_curve_
    assert result["scores"].tolist() == straight.validation_scores_
    assert int(result["n_iter"]) == straight.n_iter_ == 100
    assert int(result["epochs"]) == 100 - int(result["start"]) and result["start"] > 0
    assert moments.count("mid-write") >= 3
    assert max(start for start in starts if start is not None) > 0  # resumed fits
    assert os.listdir(tmp_path) == ["out.npz"]  # checkpoint and orphans gone
