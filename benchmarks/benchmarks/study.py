"""Many small fits: a seed study one fit after another and on two threads."""

import warnings

from sklearn.exceptions import ConvergenceWarning

import stochnet as sn

from .common import digits_split, sized


class SeedStudy:
    """32 digits fits of ``MLPClassifier((64,))`` for 40 epochs, each scored on the test
    rows (``benchmarks/study.py`` compares the rates with scikit-learn's)."""

    params = sized([1, 2], [2])
    param_names = ["n_jobs"]
    timeout = 120

    def setup(self, n_jobs):
        self.data = digits_split()
        self.estimator = sn.MLPClassifier((64,), max_iter=sized(40, 2))
        self.time_study(n_jobs)  # kernels loaded, the worker threads' scratch memory held

    def time_study(self, n_jobs):
        X_train, X_test, y_train, y_test = self.data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sn.study.seed_variance(
                self.estimator,
                X_train,
                y_train,
                X_test,
                y_test,
                sources=("init",),
                n_seeds=sized(32, 2),
                n_refits=0,
                include_all=False,
                n_jobs=n_jobs,
            )
