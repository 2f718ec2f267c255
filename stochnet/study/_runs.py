"""The fits of a study: each run is fully determined by its seeds, so any run can be
fitted again (in any process, on any machine) to the same score."""

import dataclasses
import os
import sys
import time
import warnings

import numpy as np
from joblib import delayed
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_memory

from .._runtime.threads import parallel_fits
from ..random import SOURCES, uniform

#: Sources that act on the data or the weights beside the training streams.
DATA_SOURCES = ("train_sample", "perturbation")
#: Every source a study can vary.
STUDY_SOURCES = (*SOURCES, *DATA_SOURCES)


@dataclasses.dataclass(frozen=True)
class Run:
    """One fit of a study.

    Attributes
    ----------
    source : str
        What the run varies: a source, ``"all"``, or ``"A×B"`` in a crossed design.
    seeds : tuple of (str, int)
        The seed of every training source (:data:`stochnet.random.SOURCES`).
    train_sample : int or None
        Seed of the bootstrap of the training rows, or ``None`` for the rows as given.
    perturbation : int or None
        Seed choosing the initial weight changed by one ulp, or ``None``.
    """

    source: str
    seeds: tuple
    train_sample: int | None = None
    perturbation: int | None = None

    @property
    def random_state(self):
        """The estimator's ``random_state`` for this run (a mapping)."""
        return dict(self.seeds)


def make_run(source, assigned, base):
    """The run labelled ``source`` in which the sources of ``assigned`` take its seeds:
    the other training sources take ``base``, the other data-level ones none."""
    training = {s: assigned.get(s, base) for s in SOURCES}
    return Run(source, tuple(training.items()), *(assigned.get(s) for s in DATA_SOURCES))


def bootstrap_rows(n, seed):
    """``n`` row indices drawn with replacement (Philox ``"user"`` stream, step 1)."""
    rows = (uniform(n, seed, stream="user", step=1) * n).astype(np.int64)
    return np.minimum(rows, n - 1)


def perturb_one_weight(network, seed):
    """Change one weight (chosen by ``seed`` among the nonzero ones: pruned weights stay
    zero) by one ulp of the network's dtype, upwards; returns its index in ``theta``."""
    weights = network.theta[: network.plan.n_coef]
    candidates = np.flatnonzero(weights)
    index = int(
        candidates[
            min(
                int(uniform(1, seed, stream="user", step=2)[0] * len(candidates)),
                len(candidates) - 1,
            )
        ]
    )
    network.own_parameters()
    network.theta[index] = np.nextafter(network.theta[index], np.inf)
    return index


def fit_run(estimator, run, X_train, y_train, X_test, y_test, scorer):
    """Fit ``estimator`` as ``run`` says and score it on the test data.

    Returns
    -------
    score : float
    fit_time : float
        Seconds.
    predictions : ndarray
        The fitted model's predictions on ``X_test``.
    """
    model = clone(estimator).set_params(random_state=run.random_state)
    X, y = X_train, y_train
    if run.train_sample is not None:
        rows = bootstrap_rows(y.shape[0], run.train_sample)
        X, y = X[rows], y[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tic = time.perf_counter()
        # Ctrl-C stops the study: a fit cut short must not be scored as a run.
        if run.perturbation is None:
            model.fit(X, y, interrupt="raise")
        else:
            # Build the network (as fit would), perturb it, then train it from there: a
            # warm start of an untrained network is the fit itself.
            model.loss_and_grad(X, y)
            perturb_one_weight(model.network_, run.perturbation)
            warm_start = model.warm_start
            model.set_params(warm_start=True).fit(X, y, interrupt="raise")
            model.set_params(warm_start=warm_start)
        fit_time = time.perf_counter() - tic
    predictions = np.asarray(model.predict(X_test))
    if isinstance(scorer, OwnScore):
        return scorer(y_test, predictions), fit_time, predictions
    return float(scorer(model, X_test, y_test)), fit_time, predictions


@dataclasses.dataclass(frozen=True)
class OwnScore:
    """The estimator's own ``score`` (accuracy, or R² for a regressor), from the
    predictions a run makes anyway: scikit-learn's scorer would predict the test rows a
    second time and check their labels again, a tenth of a small fit."""

    classifier: bool

    def __call__(self, y_true, predictions):
        if not self.classifier:
            return float(r2_score(y_true, predictions))
        same = np.asarray(y_true) == predictions
        # accuracy_score's value: the mean of the rows predicted right (all labels).
        return float(np.mean(same if same.ndim == 1 else same.all(axis=1)))


def execute(estimator, runs, data, scorer, n_jobs=None, memory=None, verbose=0):
    """Fit every run through joblib (threads unless a backend says otherwise; with
    ``memory``, finished fits are read back instead of fitted again).

    Returns
    -------
    list of (score, fit_time, predictions), in the order of ``runs``.
    """
    if isinstance(memory, os.PathLike):
        memory = os.fspath(memory)
    fit = fit_run if memory is None else check_memory(memory).cache(fit_run)
    progress = _Progress(len(runs), verbose)
    results = []
    with warnings.catch_warnings(), parallel_fits(n_jobs) as parallel:
        # Warning filters are process-wide: the fits' own catch_warnings (for worker
        # processes) would undo each other's across threads.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for result in parallel(delayed(fit)(estimator, run, *data, scorer) for run in runs):
            results.append(result)
            progress.update(len(results))
    progress.close()
    return results


class _Progress:
    """``done/total`` with the rate and an ETA on standard error, at most once a second
    (``verbose > 0``)."""

    def __init__(self, total, verbose, stream=None):
        self.total, self.verbose = total, verbose
        self.stream = sys.stderr if stream is None else stream
        self.start = self.last = time.perf_counter()

    def update(self, done):
        now = time.perf_counter()
        if not self.verbose or (now - self.last < 1.0 and done < self.total):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        eta = (self.total - done) / rate
        self.stream.write(f"\r  {done}/{self.total} fits, {rate:.1f} fits/s, ETA {eta:.0f} s   ")
        self.stream.flush()

    def close(self):
        if self.verbose:
            self.stream.write("\n")
            self.stream.flush()


def drawn_sources(estimator):
    """The sources of randomness ``estimator``'s fit draws from, with the data-level
    sources (every fit can be bootstrapped and perturbed)."""
    params = estimator.get_params()
    stochastic = params.get("solver", "adam") != "lbfgs"
    augment = params.get("augment")
    specs = augment if isinstance(augment, list | tuple) else [augment]
    kinds = {type(spec).__name__ for spec in specs}
    dropout = params.get("dropout", 0.0)
    rates = [dropout] if np.isscalar(dropout) else list(dropout)
    rates.append(params.get("attention_dropout", 0.0))
    drawn = {
        "init": True,
        "shuffle": stochastic and bool(params.get("shuffle", True)),
        "dropout": stochastic and any(float(r) > 0 for r in rates),
        "noise": stochastic
        and (float(params.get("input_noise", 0.0)) > 0 or "GaussianNoise" in kinds),
        "crop": "RandomCrop" in kinds,
        "prune": params.get("prune") is not None and params.get("prune_method") == "random",
        "validation": stochastic and bool(params.get("early_stopping", False)),
    }
    return tuple(s for s in SOURCES if drawn[s]) + DATA_SOURCES
