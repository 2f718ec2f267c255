"""Estimators end to end: fit, predict, memory and accuracy."""

import numpy as np

import stochnet as sn

from .common import HIDDEN, digits_split, mnist_like, quiet_fit


class MLPEpoch:
    """One epoch (partial_fit) of 784-256-256-10 on 10 000 MNIST-like rows."""

    params = ([32, 128, 512], [0.0, 0.2])
    param_names = ["batch_size", "dropout"]

    def setup(self, batch_size, dropout):
        self.X, self.y = mnist_like()
        self.clf = sn.MLPClassifier(HIDDEN, batch_size=batch_size, dropout=dropout,
                                    random_state=0)  # fmt: skip
        self.clf.partial_fit(self.X[:256], self.y[:256], classes=np.arange(10))

    def time_epoch(self, batch_size, dropout):
        self.clf.partial_fit(self.X, self.y)


class MLPFit:
    """Default MLPClassifier on digits: fit time, peak memory, test accuracy."""

    params = [0.0, 0.2]
    param_names = ["dropout"]
    timeout = 120

    def setup(self, dropout):
        self.X_train, self.X_test, self.y_train, self.y_test = digits_split()
        self.make = lambda: sn.MLPClassifier(dropout=dropout, random_state=0)
        self.fitted = quiet_fit(self.make(), self.X_train, self.y_train)

    def time_fit(self, dropout):
        quiet_fit(self.make(), self.X_train, self.y_train)

    def peakmem_fit(self, dropout):
        quiet_fit(self.make(), self.X_train, self.y_train)

    def time_predict(self, dropout):
        self.fitted.predict(self.X_test)

    def track_test_score(self, dropout):
        return self.fitted.score(self.X_test, self.y_test)

    track_test_score.unit = "accuracy"


class MLPLargeFit:
    """Peak memory of one epoch on 60 000 × 784 float32 (X is 188 MB; never copied)."""

    timeout = 300

    def setup(self):
        self.X, self.y = mnist_like(60_000)

    def peakmem_fit_one_epoch(self):
        quiet_fit(sn.MLPClassifier(HIDDEN, max_iter=1, batch_size=512, random_state=0),
                  self.X, self.y)  # fmt: skip


class Predict:
    """Latency of one row and throughput of 100 000 rows on a fitted 64-100-10 MLP."""

    def setup(self):
        X, y = mnist_like()
        X = np.ascontiguousarray(X[:, :64])
        self.clf = quiet_fit(sn.MLPClassifier((100,), max_iter=5, random_state=0), X, y)
        self.one = X[:1].copy()
        self.many = np.ascontiguousarray(np.tile(X, (10, 1)))
        self.clf.predict(self.one)

    def time_predict_one_row(self):
        self.clf.predict(self.one)

    def time_predict_proba_100k(self):
        self.clf.predict_proba(self.many)


class Ensemble:
    """Five-member ensemble on digits, predictive uncertainty."""

    timeout = 180

    def setup(self):
        self.X_train, self.X_test, self.y_train, self.y_test = digits_split()
        member = sn.MLPClassifier((64,), max_iter=50, random_state=0)
        self.ens = quiet_fit(sn.EnsembleClassifier(member, n_estimators=5, random_state=0),
                             self.X_train, self.y_train)  # fmt: skip

    def time_predict_uncertainty(self):
        self.ens.predict_uncertainty(self.X_test)

    def track_test_nll(self):
        proba = self.ens.predict_proba(self.X_test)
        return sn.uncertainty.nll(self.y_test, proba, classes=self.ens.classes_)

    track_test_nll.unit = "nats"
