"""Digits, 5-fold cross-validation: stochnet's MLPClassifier beside scikit-learn's.

Run with ``python examples/digits_accuracy.py [n_repeats]``; prints mean ± std accuracy
per model over ``n_repeats`` (default 1) shuffles of the folds, each repeat with its own
model seed. One 5-fold split has a standard error of about 0.3 points, more than the
differences between these models, so repeats are what separates them.
"""

import sys
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import stochnet as sn

MODELS = {
    "scikit-learn (100,)": SkMLP(random_state=0),
    "scikit-learn (256, 256)": SkMLP((256, 256), random_state=0),
    "stochnet (100,)": sn.MLPClassifier(random_state=0),
    "stochnet (256, 256), dropout 0.2": sn.MLPClassifier((256, 256), dropout=0.2, random_state=0),
}


def main(n_repeats=1):
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in MODELS.items():
            scores = []
            for seed in range(n_repeats):
                cv = StratifiedKFold(5, shuffle=True, random_state=seed)
                pipe = make_pipeline(StandardScaler(), model.set_params(random_state=seed))
                scores.append(cross_val_score(pipe, X, y, cv=cv))
            scores = np.concatenate(scores)
            print(
                f"{name:34s} {100 * scores.mean():.2f} ± {100 * scores.std():.2f} % "
                f"({scores.size} folds)"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
