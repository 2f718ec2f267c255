"""Pruning on digits: 80% magnitude pruning with fine-tuning, and 80% random at init.

Run with ``python examples/pruning_digits.py``; prints test accuracies and sparsities.
"""

import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import stochnet as sn


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = sn.MLPClassifier(random_state=0).fit(X_train, y_train)
        base = dense.score(X_test, y_test)
        print(f"dense (100,):                              {base:.4f}")

        dense.prune_weights(0.8, method="magnitude")
        pruned = dense.score(X_test, y_test)
        dense.set_params(warm_start=True, max_iter=50).fit(X_train, y_train)
        tuned = dense.score(X_test, y_test)
        print(
            f"80% magnitude pruning, no fine-tuning:     {pruned:.4f}\n"
            f"80% magnitude pruning + 50 epochs tuning:  {tuned:.4f} "
            f"(drop {100 * (base - tuned):.2f} points, sparsity {dense.sparsity_:.3f})"
        )

        sparse_init = sn.MLPClassifier(prune=0.8, prune_method="random", random_state=0)
        sparse_init.fit(X_train, y_train)
        acc = sparse_init.score(X_test, y_test)
        print(
            f"80% random pruning at init:                {acc:.4f} "
            f"(drop {100 * (base - acc):.2f} points, sparsity {sparse_init.sparsity_:.3f})"
        )


if __name__ == "__main__":
    main()
