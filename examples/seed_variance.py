"""How much of a score is luck? Seed-variance studies on digits and breast_cancer.

Run with ``python examples/seed_variance.py [figure.png]``. For an MLP with dropout on
digits and an attention model on breast_cancer it prints, per source of randomness,
the spread of the test accuracy when only that source changes (with 95 % intervals),
every source together, the one-ulp perturbation of one initial weight, Jordan's split
of the variance into test-set sampling and the distribution-level part, and the
disagreement of the predictions; then a paired comparison of two close
configurations. The figure (``docs/_static/seed_variance.png`` in the user guide)
shows the SD per source for both models.
"""

import sys
import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.preprocessing import StandardScaler

import stochnet as sn


def digits_split():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:1000], order[1000:]
    return X[train], y[train], X[test], y[test]


def breast_cancer_split():
    X, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:350], order[350:]
    scaler = StandardScaler().fit(X[train])
    return scaler.transform(X[train]), y[train], scaler.transform(X[test]), y[test]


def study(name, estimator, data, n_seeds):
    tic = time.perf_counter()
    result = sn.study.seed_variance(estimator, *data, n_seeds=n_seeds, n_jobs=2)
    seconds = time.perf_counter() - tic
    print(f"\n== {name}: {len(result.runs)} fits in {seconds:.1f} s "
          f"({len(result.runs) / seconds:.1f} fits/s) ==")  # fmt: skip
    print(result.summary())
    return result


def main():
    digits = digits_split()
    mlp = sn.MLPClassifier((64,), dropout=0.2, max_iter=60)
    mlp_study = study("digits, MLPClassifier((64,), dropout=0.2)", mlp, digits, n_seeds=20)

    cancer = breast_cancer_split()
    attention = sn.AttentionClassifier(d_model=16, n_heads=2, n_layers=1, d_ff=32, dropout=0.1,
                                       max_iter=40)  # fmt: skip
    attention_study = study("breast_cancer, AttentionClassifier", attention, cancer, n_seeds=10)

    print("\n== Two close configurations on digits: dropout 0.1 (A) against 0.2 (B) ==")
    comparison = sn.study.compare(
        sn.MLPClassifier((64,), dropout=0.1, max_iter=60), mlp, *digits, n_seeds=29, n_jobs=2
    )
    print(comparison.summary())

    if len(sys.argv) > 1:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), layout="constrained")
        mlp_study.plot(ax=axes[0])
        attention_study.plot(ax=axes[1])
        axes[0, 0].set_title("digits, MLP with dropout")
        axes[1, 0].set_title("breast_cancer, attention")
        fig.savefig(sys.argv[1], dpi=110)
        print(f"\nfigure: {sys.argv[1]}")


if __name__ == "__main__":
    main()
