"""Quickstart: fit stochnet's MLPClassifier on scikit-learn's digits.

Run with ``python examples/quickstart.py``. Prints the held-out accuracy of a default
model, of the same model with dropout, and an MC-dropout uncertainty summary.
"""

import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import stochnet as sn
from stochnet.precompile import compile_seconds


def fit_timed(model, X, y):
    """Fit; return the seconds it took and how many of them went to compiling kernels."""
    tic, compiled = time.perf_counter(), compile_seconds()
    model.fit(X, y)
    total, compiled = time.perf_counter() - tic, compile_seconds() - compiled
    return f"{total:.1f} s" + (f", of which {compiled:.1f} s compiling" if compiled else "")


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )

    model = make_pipeline(StandardScaler(), sn.MLPClassifier(random_state=0))
    took = fit_timed(model, X_train, y_train)
    print(
        f"MLPClassifier (100,) relu, adam:      test accuracy "
        f"{model.score(X_test, y_test):.4f}  ({took})"
    )

    dropout_model = make_pipeline(
        StandardScaler(),
        sn.MLPClassifier(hidden_layer_sizes=(256, 256), dropout=0.2, random_state=0),
    )
    took = fit_timed(dropout_model, X_train, y_train)
    print(
        f"MLPClassifier (256, 256), dropout 0.2: test accuracy "
        f"{dropout_model.score(X_test, y_test):.4f}  ({took})"
    )

    scaler, clf = dropout_model[0], dropout_model[-1]
    result = clf.predict_uncertainty(scaler.transform(X_test), mc_samples=30, random_state=0)
    wrong = result.mean.argmax(1) != y_test
    print(
        "MC dropout (30 samples): mean epistemic uncertainty (mutual information) "
        f"{result.epistemic[~wrong].mean():.4f} nats on correct predictions, "
        f"{result.epistemic[wrong].mean() if wrong.any() else float('nan'):.4f} on errors"
    )


if __name__ == "__main__":
    main()
