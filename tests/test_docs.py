"""The documentation builds with warnings as errors (a broken reference fails CI)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="the docs extras are not installed")
pytest.importorskip("numpydoc")
pytest.importorskip("pydata_sphinx_theme")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_sphinx_build_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    assert (tmp_path / "html" / "user_guide" / "attention.html").exists()
    assert (tmp_path / "html" / "generated" / "stochnet.AttentionClassifier.html").exists()
