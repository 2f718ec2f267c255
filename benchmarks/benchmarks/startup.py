"""Start-up costs, each in a fresh process (asv's ``timeraw_``)."""


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
