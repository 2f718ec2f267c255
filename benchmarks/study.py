"""Throughput of a seed study: fits per second of 64 small fits, measured in one run.

``python benchmarks/study.py [--fits 64] [--epochs 40]`` fits ``MLPClassifier((64,))``
on 1,000 digits rows with 64 seeds: one after another (all kernel threads, and one),
as a study on two threads (``n_jobs=2``, the default backend), as a study on two
worker processes (joblib's loky, first with fresh workers, then with the same workers
alive), and scikit-learn's ``MLPClassifier`` with the same seeds, one after another and
on two processes. It prints fits/s and the ratios, with the machine's sgemm rate.

The same machinery serves the other many-fit tools, measured after the study: a
16-member ``EnsembleClassifier`` (``n_jobs=1`` and ``2``) and a ``GridSearchCV`` over
4 × 4 folds (``n_jobs=2`` on joblib's default processes and on threads).
"""

import argparse
import contextlib
import sys
import time
import warnings
from pathlib import Path

import joblib
from sklearn.datasets import load_digits

import stochnet as sn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import sgemm_gflops


def data():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:1000], y[:1000], X[1000:], y[1000:]


def stochnet_fit(seed, epochs, X, y):
    warnings.simplefilter("ignore")
    return sn.MLPClassifier((64,), max_iter=epochs, random_state=seed).fit(X, y)


def sklearn_fit(seed, epochs, X, y):
    from sklearn.neural_network import MLPClassifier

    warnings.simplefilter("ignore")
    return MLPClassifier((64,), max_iter=epochs, random_state=seed).fit(X, y)


def rate(call, fits):
    tic = time.perf_counter()
    call()
    return fits / (time.perf_counter() - tic)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    n, epochs = args.fits, args.epochs
    X, y, X_test, y_test = data()
    estimator = sn.MLPClassifier((64,), max_iter=epochs)
    study = dict(sources=("init",), n_seeds=n, n_refits=0, include_all=False)
    warnings.simplefilter("ignore")
    stochnet_fit(0, epochs, X, y)  # kernels loaded, as in any session after the first fit

    rates = {}
    rates["stochnet, one after another"] = rate(
        lambda: [stochnet_fit(s, epochs, X, y) for s in range(n)], n
    )
    sn.set_num_threads(1)
    rates["stochnet, one after another, 1 kernel thread"] = rate(
        lambda: [stochnet_fit(s, epochs, X, y) for s in range(n)], n
    )
    sn.set_num_threads(sn.get_num_threads())
    rates["stochnet study, n_jobs=2 (threads)"] = rate(
        lambda: sn.study.seed_variance(estimator, X, y, X_test, y_test, n_jobs=2, **study), n
    )
    with joblib.parallel_backend("loky", n_jobs=2):
        rates["stochnet study, 2 processes, fresh workers"] = rate(
            lambda: sn.study.seed_variance(estimator, X, y, X_test, y_test, **study), n
        )
        rates["stochnet study, 2 processes, workers alive"] = rate(
            lambda: sn.study.seed_variance(estimator, X, y, X_test, y_test, **study), n
        )
    rates["scikit-learn, one after another"] = rate(
        lambda: [sklearn_fit(s, epochs, X, y) for s in range(n)], n
    )
    rates["scikit-learn, joblib processes, n_jobs=2"] = rate(
        lambda: joblib.Parallel(n_jobs=2)(
            joblib.delayed(sklearn_fit)(s, epochs, X, y) for s in range(n)
        ),
        n,
    )
    best_sequential = max(v for k, v in rates.items() if k.startswith("stochnet, one"))
    best_sklearn = max(v for k, v in rates.items() if k.startswith("scikit-learn"))
    print(f"{n} digits fits of (64,) for {epochs} epochs; sgemm {sgemm_gflops(2):.0f} GFLOP/s")
    for name, value in rates.items():
        extra = ""
        if name.startswith("stochnet study"):
            extra = (
                f"  {value / best_sequential:.2f}x the best sequential, "
                f"{value / best_sklearn:.2f}x scikit-learn's best"
            )
        print(f"  {name:<48} {value:6.1f} fits/s{extra}")
    single = rates["stochnet, one after another"] / rates["scikit-learn, one after another"]
    print(f"  single-fit ratio (stochnet / scikit-learn, one after another): {single:.2f}x")
    many_fit_tools(X, y, epochs)


def many_fit_tools(X, y, epochs):
    """Fits/s of an ensemble and of a grid search, one after another and side by side."""
    from sklearn.model_selection import GridSearchCV

    member = sn.MLPClassifier((64,), max_iter=epochs)
    grid = {"alpha": [1e-5, 1e-4, 1e-3, 1e-2]}

    def ensemble(n_jobs):
        sn.EnsembleClassifier(member, n_estimators=16, n_jobs=n_jobs, random_state=0).fit(X, y)

    def search(n_jobs, backend=None):
        with joblib.parallel_backend(backend) if backend else contextlib.nullcontext():
            GridSearchCV(member, grid, cv=4, n_jobs=n_jobs, refit=False).fit(X, y)

    ensemble(1)  # the ensemble's own kernels (predict_proba) loaded
    rows = {
        "ensemble of 16, n_jobs=1": rate(lambda: ensemble(1), 16),
        "ensemble of 16, n_jobs=2 (threads)": rate(lambda: ensemble(2), 16),
        "GridSearchCV 4 x 4 folds, n_jobs=1": rate(lambda: search(1), 16),
        "GridSearchCV, n_jobs=2 (processes, fresh)": rate(lambda: search(2), 16),
        "GridSearchCV, n_jobs=2 (threads)": rate(lambda: search(2, "threading"), 16),
    }
    for name, value in rows.items():
        print(f"  {name:<48} {value:6.1f} fits/s")


if __name__ == "__main__":
    main()
