"""Start-up costs, each in a fresh process (asv's ``timeraw_``)."""

from .common import FIRST_FITS, SMOKE, first_fit_code, sized

#: Runs the script in an empty kernel cache of its own: everything compiles.
EMPTY_CACHE = "import os, tempfile; os.environ['NUMBA_CACHE_DIR'] = tempfile.mkdtemp()"


class Startup:
    timeout = 300

    def timeraw_import_mlpclassifier(self):
        return "from stochnet import MLPClassifier"

    def timeraw_import_sklearn_mlpclassifier(self):
        return "from sklearn.neural_network import MLPClassifier"

    def timeraw_first_fit_digits(self):
        # Compiled kernels come from the on-disk cache after the first run.
        return (
            "from sklearn.datasets import load_digits\n"
            "from stochnet import MLPClassifier\n"
            "X, y = load_digits(return_X_y=True)\n"
            "MLPClassifier(max_iter=20, random_state=0).fit(X / 16, y)\n"
        ), "import warnings; warnings.simplefilter('ignore')"

    def timeraw_sklearn_first_fit(self):
        return first_fit_code("sklearn")


class FirstFit:
    """A fresh process's first fit of each model family, imports included: on a warm
    kernel cache (what ``pip install .`` leaves) and on an empty one."""

    # The test suite's smoke run leaves out the empty-cache half (each compiles for ~30 s;
    # the test suite compiles from nothing elsewhere) and all families but the first.
    params = (
        sized(list(FIRST_FITS), list(FIRST_FITS)[:1]),
        ["warm cache"] if SMOKE else ["warm cache", "empty cache"],
    )
    param_names = ["family", "cache"]
    timeout = 600

    def timeraw_first_fit(self, family, cache):
        return first_fit_code(family), EMPTY_CACHE if cache == "empty cache" else ""
