"""The asv suite runs once in quick mode, so a broken benchmark fails CI."""

import os
import shutil
import sys
from pathlib import Path

import pytest

from .background import Command, after_the_test_process
from .conftest import FORK_SAFE_THREADS

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ASV_RUNS = shutil.which("git") is not None and (BENCHMARKS.parent / ".git").exists()


@after_the_test_process
def asv_smoke_run(folder):
    """``asv run --quick --dry-run`` of every benchmark (small sizes, one parameter
    combination each, no empty-cache first fits: ``STOCHNET_ASV_SMOKE``); nothing
    where the test is skipped.

    The benchmarks fork from one process that has imported stochnet instead of each
    starting an interpreter (under half the time), on ``FORK_SAFE_THREADS``: this run
    checks that every benchmark runs, not how fast.
    """
    if not ASV_RUNS:
        return []
    asv = [sys.executable, "-m", "asv"]
    env = dict(os.environ, HOME=str(folder), STOCHNET_ASV_SMOKE="1",  # HOME: asv's machine file
               **FORK_SAFE_THREADS)  # fmt: skip
    launch = ["--launch-method=forkserver"] if hasattr(os, "fork") else []
    return [
        Command([*asv, "machine", "--yes", "--machine", "ci"], env=env, cwd=BENCHMARKS),
        Command(
            [*asv, "run", "--python=same", "--quick", "--dry-run", "--machine", "ci",
             "--show-stderr", *launch],
            env=env,
            cwd=BENCHMARKS,
        ),
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(not ASV_RUNS, reason="asv needs git and the git checkout of the project")
@pytest.mark.background(check=asv_smoke_run)
def test_asv_suite_runs_in_quick_mode(background):
    run = background.result(asv_smoke_run).run
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    assert " failed" not in report, report[-6000:]
