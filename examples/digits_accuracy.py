"""Digits, 5-fold cross-validation: stochnet's MLPClassifier beside scikit-learn's.

Run with ``python examples/digits_accuracy.py``; prints mean ± std accuracy per model.
"""

import warnings

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


def main():
    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, model in MODELS.items():
            scores = cross_val_score(make_pipeline(StandardScaler(), model), X, y, cv=cv)
            print(f"{name:34s} {100 * scores.mean():.2f} ± {100 * scores.std():.2f} %")


if __name__ == "__main__":
    main()
