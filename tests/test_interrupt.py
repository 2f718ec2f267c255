"""Ctrl-C during fit: the model keeps its last complete epoch and stays usable."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import signal, sys, warnings
    import numpy as np
    import stochnet as sn

    # Ctrl-C as in a terminal, even where the test runner was started with SIGINT
    # ignored (a shell's background job), which the child would inherit
    signal.signal(signal.SIGINT, signal.default_int_handler)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 100)).astype(np.float32)
    y = (X[:, :10].sum(1) > 0).astype(int)
    mode, solver = sys.argv[1], sys.argv[2]
    make = lambda n: sn.MLPClassifier((256, 256), solver=solver, max_iter=n, tol=0,
                                      n_iter_no_change=10**6, random_state=0)
    clf = make(100000).set_params(verbose=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(X, y, interrupt=mode)
        print("RETURNED", [str(w.message) for w in caught if "interrupted" in str(w.message)])
    except KeyboardInterrupt:
        print("RAISED")
    print("N_ITER", clf.n_iter_, flush=True)
    assert clf.predict(X[:5]).shape == (5,)
    if solver != "lbfgs":
        assert len(clf.loss_curve_) == clf.n_iter_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            again = make(clf.n_iter_).fit(X, y)
        same = np.array_equal(again.parameters_, clf.parameters_)
        print("SAME_AS_FRESH_FIT", same, flush=True)
    """
)


def _interrupt_fit(mode, solver="adam", after_epochs=2):
    """Fit in a child process, send it SIGINT after ``after_epochs`` epochs."""
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, mode, solver],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    seen = 0
    for line in child.stdout:
        if line.startswith("Iteration"):
            seen += 1
        if seen >= after_epochs:
            break
    child.send_signal(signal.SIGINT)
    try:
        out, err = child.communicate(timeout=300)
    finally:
        child.kill()  # no runaway fit when the child missed the signal
    return child.returncode, out, err


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_keeps_the_last_complete_epoch_and_warns():
    code, out, err = _interrupt_fit("warn")
    assert code == 0, err
    assert "RETURNED ['Training interrupted after" in out
    n_iter = int(out.split("N_ITER")[1].split()[0])
    assert n_iter >= 2
    assert "SAME_AS_FRESH_FIT True" in out


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_reraises_when_asked():
    code, out, err = _interrupt_fit("raise")
    assert "RAISED" in out and "SAME_AS_FRESH_FIT True" in out, err
    assert code == 0


def test_interrupt_must_be_warn_or_raise():
    import numpy as np

    import stochnet as sn

    with pytest.raises(ValueError, match="interrupt"):
        sn.MLPClassifier().fit(np.zeros((4, 2)), [0, 1, 0, 1], interrupt="ignore")


def test_interrupted_lbfgs_keeps_its_last_iterate(monkeypatch):
    import warnings

    import numpy as np

    import stochnet as sn
    from stochnet.engine import MLPNetwork

    calls = {"n": 0}
    original = MLPNetwork.loss_and_grad

    def interrupted_after_ten(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 10:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MLPNetwork, "loss_and_grad", interrupted_after_ten)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 5)), rng.integers(0, 2, 200)
    clf = sn.MLPClassifier((8,), solver="lbfgs", random_state=0)
    with pytest.warns(UserWarning, match="interrupted during L-BFGS"):
        clf.fit(X, y)
    assert np.all(np.isfinite(clf.parameters_)) and np.isfinite(clf.loss_)
    assert clf.predict(X).shape == (200,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calls["n"] = 0
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y, interrupt="raise")
    assert clf.predict(X).shape == (200,)


def test_interrupted_ensemble_keeps_its_finished_members(monkeypatch):
    import warnings

    import numpy as np

    import stochnet as sn

    calls = {"n": 0}
    original = sn.MLPClassifier.fit

    def third_member_interrupted(self, X, y, sample_weight=None, interrupt="warn"):
        calls["n"] += 1
        assert interrupt == "raise"  # members must not swallow the user's Ctrl-C
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, X, y, sample_weight, interrupt)

    monkeypatch.setattr(sn.MLPClassifier, "fit", third_member_interrupted)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 4)), rng.integers(0, 2, 100)
    ens = sn.EnsembleClassifier(sn.MLPClassifier((4,), max_iter=5), n_estimators=4)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Stochastic Optimizer")
        with pytest.warns(UserWarning, match="after 2 of 4 members"):
            ens.fit(X, y)
    assert len(ens.estimators_) == 2 and ens.predict_proba(X).shape == (100, 2)
