"""Calibration on digits: one net, MC dropout and a deep ensemble.

Run with ``python examples/uncertainty_digits.py [figure.png]``; prints accuracy, NLL,
Brier score and ECE (15 equal-width bins) on a held-out quarter of digits, and, when a
file name is given (matplotlib needed), saves the three reliability diagrams.
"""

import sys
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import stochnet as sn
from stochnet.uncertainty import brier_score, expected_calibration_error, nll, reliability_diagram


def main(figure=None):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    net = sn.MLPClassifier(hidden_layer_sizes=(256, 256), random_state=0)
    dropout_net = sn.MLPClassifier(hidden_layer_sizes=(256, 256), dropout=0.2, random_state=0)
    ensemble = sn.EnsembleClassifier(net, n_estimators=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for model in (net, dropout_net, ensemble):
            model.fit(X_train, y_train)

    rows = {
        "single net": net.predict_proba(X_test),
        "MC dropout (p=0.2, 30 samples)": dropout_net.predict_uncertainty(
            X_test, mc_samples=30, random_state=0
        ).mean,
        "ensemble of 5": ensemble.predict_proba(X_test),
    }
    print(f"{'model':32s} {'accuracy':>9s} {'NLL':>8s} {'Brier':>8s} {'ECE':>8s}")
    for name, proba in rows.items():
        accuracy = np.mean(net.classes_[proba.argmax(axis=1)] == y_test)
        print(
            f"{name:32s} {accuracy:9.4f} {nll(y_test, proba, classes=net.classes_):8.4f} "
            f"{brier_score(y_test, proba, classes=net.classes_):8.4f} "
            f"{expected_calibration_error(y_test, proba, classes=net.classes_):8.4f}"
        )

    if figure is not None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharey=True)
        for ax, (name, proba) in zip(axes, rows.items(), strict=True):
            reliability_diagram(y_test, proba, classes=net.classes_).plot(ax=ax)
            ax.set_title(name)
        fig.tight_layout()
        fig.savefig(figure, dpi=100)
        print(f"reliability diagrams saved to {figure}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
