"""The package namespace: lazy imports and every public name."""

import subprocess
import sys

import pytest

import stochnet


def test_import_is_lazy():
    """``from stochnet import MLPClassifier`` compiles nothing and loads neither Numba nor
    the parts of the package the MLP does not use."""
    heavy = ("numba", "stochnet.diagnostics", "stochnet.estimators.attention", "stochnet.io")
    code = (
        "import sys; from stochnet import MLPClassifier; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves():
    for name in stochnet.__all__:
        assert getattr(stochnet, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        stochnet.nothing  # noqa: B018
