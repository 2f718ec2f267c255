"""The asv suite runs once in quick mode, so a broken benchmark fails CI."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="asv needs git")
def test_asv_suite_runs_in_quick_mode(tmp_path):
    if not (BENCHMARKS.parent / ".git").exists():
        pytest.skip("asv needs the git checkout of the project")
    asv = [sys.executable, "-m", "asv"]
    # asv keeps its machine file in HOME; the smoke run skips the empty-cache first fits.
    env = dict(os.environ, HOME=str(tmp_path), STOCHNET_ASV_SMOKE="1")
    subprocess.run(
        [*asv, "machine", "--yes", "--machine", "ci"],
        cwd=BENCHMARKS,
        env=env,
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        [*asv, "run", "--python=same", "--quick", "--dry-run", "--machine", "ci", "--show-stderr"],
        cwd=BENCHMARKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    assert " failed" not in report, report[-6000:]
