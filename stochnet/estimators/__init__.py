"""scikit-learn estimators."""

from .ensemble import EnsembleClassifier, EnsembleRegressor
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["EnsembleClassifier", "EnsembleRegressor", "MLPClassifier", "MLPRegressor"]
