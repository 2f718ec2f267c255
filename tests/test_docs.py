"""The documentation builds with warnings as errors (a broken reference fails CI)."""

import sys
from pathlib import Path

import pytest

from .background import Command

pytest.importorskip("sphinx", reason="the docs extras are not installed")
pytest.importorskip("numpydoc")
pytest.importorskip("pydata_sphinx_theme")

ROOT = Path(__file__).resolve().parent.parent


def sphinx_build(folder):
    return Command(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(folder / "doctrees"), str(ROOT / "docs"), str(folder / "html")],
        timeout=900,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.background(check=sphinx_build)
def test_sphinx_build_without_warnings(background):
    finished = background.result(sphinx_build)
    assert finished.run.returncode == 0, finished.run.stderr[-5000:]
    html = finished.folder / "html"
    assert (html / "user_guide" / "attention.html").exists()
    assert (html / "generated" / "stochnet.AttentionClassifier.html").exists()
