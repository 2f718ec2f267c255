"""scikit-learn estimators."""

from .attention import AttentionClassifier, AttentionRegressor, pad_sequences
from .ensemble import EnsembleClassifier, EnsembleRegressor
from .mlp import MLPClassifier, MLPRegressor

__all__ = [
    "AttentionClassifier",
    "AttentionRegressor",
    "EnsembleClassifier",
    "EnsembleRegressor",
    "MLPClassifier",
    "MLPRegressor",
    "pad_sequences",
]
