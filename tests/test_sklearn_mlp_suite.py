"""scikit-learn's own MLP tests, run on stochnet's classes.

The installed scikit-learn's ``neural_network/tests/test_mlp.py`` runs with its
``MLPClassifier``/``MLPRegressor`` import pointed at stochnet. Every test must pass except
those listed here with the reason; a new failure, or a listed test that starts to pass,
fails this test (then update the list).
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sklearn

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

#: Tests of scikit-learn's that fail on stochnet, and why that is acceptable.
EXPECTED_FAILURES = {
    "test_alpha": "asserts weight norms fall with alpha for one draw of the initial "
    "weights; stochnet draws them from Philox, not NumPy's generator",
    "test_fit": "hand-sets coefs_, _coef_velocity and _coef_grads (private attributes) "
    "before the first partial_fit",
    "test_gradient": "calls the private _loss_grad_lbfgs (stochnet's is loss_and_grad)",
    "test_learning_rate_warmstart": "reads the private _optimizer",
    "test_adaptive_learning_rate": "reads the private _optimizer",
    "test_partial_fit_regression": "a score threshold (0.65) met by scikit-learn's draw "
    "of the initial weights; stochnet's draw scores 0.62",
    "test_mlp_loading_from_joblib_partial_fit": "fine-tunes to a target within rtol 1e-4 "
    "from one draw of the initial weights (stochnet's ends 1.2e-4 away)",
}


@pytest.mark.slow
def test_scikit_learns_mlp_tests_pass_on_stochnet(tmp_path):
    source = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    text = source.read_text()
    if IMPORT not in text:
        pytest.skip(f"scikit-learn {sklearn.__version__}'s test_mlp.py imports differently")
    (tmp_path / "test_mlp_on_stochnet.py").write_text(
        text.replace(IMPORT, "from stochnet import MLPClassifier, MLPRegressor")
    )
    # The one fixture of scikit-learn's conftest that these tests use, at its default.
    (tmp_path / "conftest.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef global_random_seed():\n    return 42\n"
    )
    report = tmp_path / "report.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), f"--junitxml={report}", "test_mlp_on_stochnet.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )  # fmt: skip
    cases = ET.parse(report).getroot().iter("testcase")
    outcomes = {}
    for case in cases:
        name = case.get("name").split("[")[0]
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[name] = outcomes.get(name, False) or failed
    failed = {name for name, bad in outcomes.items() if bad}
    assert len(outcomes) > 40, run.stdout[-3000:]
    assert failed - set(EXPECTED_FAILURES) == set(), run.stdout[-6000:]
    assert set(EXPECTED_FAILURES) - failed == set(), "now passing: update EXPECTED_FAILURES"
