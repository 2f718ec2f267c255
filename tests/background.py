"""Long subprocess checks that run beside the test process.

A check is one or a few subprocesses that take a minute or two, mostly compiling on
one core: a bounds-checked build of the kernels, the kernel tests on the CUDA
simulator, a cold compile of a seeded fit, the asv smoke run. The checks that the
session's selected tests read start when collection ends and run one after another on
a background thread, at a lower priority (:data:`NICENESS`), so on a 2-core machine
they use the core the test process leaves idle while it compiles or runs
single-threaded code; the tests that read them run last
(``conftest.pytest_collection_modifyitems``).

A test declares what it reads with ``@pytest.mark.background(check=check)`` and reads it
with the ``background`` fixture: ``background.result(check)``. A check read without
the mark runs when it is read.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

#: The checks' processes run at this niceness: the test process is the session's
#: critical path, and its multithreaded kernels wait for their slowest thread, so a
#: check that shares a core with one of them should give the core up.
NICENESS = 10


class Command(NamedTuple):
    """One subprocess of a check."""

    argv: list
    env: dict | None = None
    cwd: Path | None = None
    timeout: float = 1800.0


class Finished(NamedTuple):
    """A check's outcome: its subprocesses, in order, up to the first that failed, the
    folder it was given, and when it started and ended (``time.monotonic()``)."""

    runs: list
    folder: Path
    started: float
    ended: float

    @property
    def run(self):
        """The last subprocess (None for a check with nothing to run here)."""
        return self.runs[-1] if self.runs else None


def after_the_test_process(check):
    """Mark a check whose processes use the session's own kernel cache: it starts after
    the others, when the test process has compiled most kernels, instead of compiling
    them beside it (one waiting for the other's compile lock)."""
    check.after_the_test_process = True
    return check


class BackgroundChecks:
    """Runs checks (functions ``folder -> Command or list of Command``) on one
    background thread, in the order :meth:`start` gets them."""

    def __init__(self):
        self._root = Path(tempfile.mkdtemp(prefix="stochnet-checks-"))
        self._outcomes = {}
        self._ready = {}
        self._process = None
        self._stopped = threading.Event()
        self._thread = None

    def start(self, checks):
        checks = [c for c in dict.fromkeys(checks) if c not in self._ready]
        checks.sort(key=lambda check: getattr(check, "after_the_test_process", False))
        for check in checks:
            self._ready[check] = threading.Event()
        if checks:
            self._thread = threading.Thread(target=self._run_all, args=(checks,), daemon=True)
            self._thread.start()

    def result(self, check):
        """The check's :class:`Finished` outcome, waiting for it if it is running."""
        if check not in self._ready:
            self._ready[check] = threading.Event()
            self._run(check)
        self._ready[check].wait()
        outcome = self._outcomes[check]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def timings(self):
        """``(check name, started, ended)`` of the finished checks, in the order they
        ran (``time.monotonic()`` seconds)."""
        done = [(c.__name__, o.started, o.ended) for c, o in self._outcomes.items()
                if isinstance(o, Finished)]  # fmt: skip
        return sorted(done, key=lambda row: row[1])

    def stop(self):
        """Kill what still runs (a session ended early) and remove the folders."""
        self._stopped.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
        if self._thread is not None:
            self._thread.join()
        shutil.rmtree(self._root, ignore_errors=True)

    def _run_all(self, checks):
        for check in checks:
            self._run(check)

    def _run(self, check):
        try:
            self._outcomes[check] = self._finish(check)
        except BaseException as error:  # reported by the test that reads the check
            self._outcomes[check] = error
        finally:
            self._ready[check].set()

    def _finish(self, check):
        if self._stopped.is_set():
            raise RuntimeError("the session ended before this check ran")
        started = time.monotonic()
        folder = self._root / check.__name__
        folder.mkdir()
        commands = check(folder)
        if isinstance(commands, Command):
            commands = [commands]
        runs = []
        for command in commands:
            runs.append(self._execute(command))
            if runs[-1].returncode:
                break
        return Finished(runs, folder, started, time.monotonic())

    def _execute(self, command):
        with subprocess.Popen(
            command.argv,
            env=command.env,
            cwd=command.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            self._process = process
            _lower_priority(process)
            if self._stopped.is_set():
                process.kill()
            try:
                stdout, stderr = process.communicate(timeout=command.timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                raise
            finally:
                self._process = None
        return subprocess.CompletedProcess(command.argv, process.returncode, stdout, stderr)


def _lower_priority(process):
    """Give ``process`` (started a moment ago, so still one thread) :data:`NICENESS`;
    its threads and children inherit it."""
    if hasattr(os, "setpriority"):
        with contextlib.suppress(ProcessLookupError):
            os.setpriority(os.PRIO_PROCESS, process.pid, NICENESS)
