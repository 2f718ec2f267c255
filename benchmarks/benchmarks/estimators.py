"""Estimators end to end: fit, predict, memory and accuracy."""

import numpy as np

import stochnet as sn

from .common import HIDDEN, digits_split, mnist_like, quiet_fit, sized


class MLPEpoch:
    """One epoch (partial_fit) of 784-256-256-10 on 10 000 MNIST-like rows."""

    params = sized(([32, 128, 512], [0.0, 0.2]), ([128], [0.2]))
    param_names = ["batch_size", "dropout"]

    def setup(self, batch_size, dropout):
        self.X, self.y = mnist_like()
        self.clf = sn.MLPClassifier(HIDDEN, batch_size=batch_size, dropout=dropout, random_state=0)
        self.clf.partial_fit(self.X[:256], self.y[:256], classes=np.arange(10))

    def time_epoch(self, batch_size, dropout):
        self.clf.partial_fit(self.X, self.y)


class MLPFit:
    """Default MLPClassifier on digits: fit time, peak memory, test accuracy."""

    params = sized([0.0, 0.2], [0.2])
    param_names = ["dropout"]
    timeout = 120

    def setup(self, dropout):
        self.X_train, self.X_test, self.y_train, self.y_test = digits_split()
        self.make = lambda: sn.MLPClassifier(
            dropout=dropout, max_iter=sized(200, 5), random_state=0
        )
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
        quiet_fit(
            sn.MLPClassifier(HIDDEN, max_iter=1, batch_size=512, random_state=0), self.X, self.y
        )


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
        member = sn.MLPClassifier((64,), max_iter=sized(50, 3), random_state=0)
        self.ens = quiet_fit(
            sn.EnsembleClassifier(member, n_estimators=5, random_state=0),
            self.X_train,
            self.y_train,
        )

    def time_predict_uncertainty(self):
        self.ens.predict_uncertainty(self.X_test)

    def track_test_nll(self):
        proba = self.ens.predict_proba(self.X_test)
        return sn.uncertainty.nll(self.y_test, proba, classes=self.ens.classes_)

    track_test_nll.unit = "nats"


class EncoderStep:
    """Train steps of one encoder block (batch 64, T = 64, d_model 64, 4 heads, d_ff 256,
    dropout 0.1, Adam): one epoch of 4 batches."""

    timeout = 180

    def setup(self):
        rng = np.random.default_rng(0)
        n = sized(256, 64)
        self.X = rng.standard_normal((n, 64, 64), dtype=np.float32)
        self.y = rng.integers(0, 10, n)
        self.clf = sn.AttentionClassifier(
            64, 4, 1, 256, dropout=0.1, attention_dropout=0.1, batch_size=64, random_state=0
        )
        self.clf.partial_fit(self.X[:64], self.y[:64], classes=np.arange(10))

    def time_epoch(self):
        self.clf.partial_fit(self.X, self.y)


class AttentionFit:
    """AttentionClassifier on digits as 64 feature tokens: fit, predict, accuracy."""

    timeout = 300

    @staticmethod
    def make():
        return sn.AttentionClassifier(
            32, 4, 1, 64, batch_size=64, max_iter=sized(8, 1), random_state=0
        )

    def setup_cache(self):
        # One fit shared by the predict and score benchmarks (asv runs each in its own
        # process, so setup would refit for every one of them).
        X_train, X_test, y_train, y_test = digits_split()
        return quiet_fit(self.make(), X_train, y_train), (X_train, X_test, y_train, y_test)

    def time_fit(self, cache):
        _, (X_train, _, y_train, _) = cache
        quiet_fit(self.make(), X_train, y_train)

    def peakmem_fit(self, cache):
        _, (X_train, _, y_train, _) = cache
        quiet_fit(self.make(), X_train, y_train)

    def time_predict(self, cache):
        fitted, (_, X_test, _, _) = cache
        fitted.predict(X_test)

    def track_test_score(self, cache):
        fitted, (_, X_test, _, y_test) = cache
        return fitted.score(X_test, y_test)

    track_test_score.unit = "accuracy"
