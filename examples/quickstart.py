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


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )

    tic = time.perf_counter()
    model = make_pipeline(StandardScaler(), sn.MLPClassifier(random_state=0))
    model.fit(X_train, y_train)
    print(
        f"MLPClassifier (100,) relu, adam:      test accuracy "
        f"{model.score(X_test, y_test):.4f}  ({time.perf_counter() - tic:.1f} s with compile)"
    )

    tic = time.perf_counter()
    dropout_model = make_pipeline(
        StandardScaler(),
        sn.MLPClassifier(hidden_layer_sizes=(256, 256), dropout=0.2, random_state=0),
    )
    dropout_model.fit(X_train, y_train)
    print(
        f"MLPClassifier (256, 256), dropout 0.2: test accuracy "
        f"{dropout_model.score(X_test, y_test):.4f}  ({time.perf_counter() - tic:.1f} s)"
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
