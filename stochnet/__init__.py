"""stochnet: neural networks whose randomness is a controllable, measurable part of the model."""

__version__ = "0.1.0.dev0"

from . import augment, datasets, diagnostics, init, io, prune, random, uncertainty
from ._device import cuda_available
from .augment import GaussianNoise, RandomCrop
from .estimators import (
    AttentionClassifier,
    AttentionRegressor,
    EnsembleClassifier,
    EnsembleRegressor,
    MLPClassifier,
    MLPRegressor,
    pad_sequences,
)

__all__ = [
    "AttentionClassifier",
    "AttentionRegressor",
    "EnsembleClassifier",
    "EnsembleRegressor",
    "GaussianNoise",
    "MLPClassifier",
    "MLPRegressor",
    "RandomCrop",
    "__version__",
    "augment",
    "cuda_available",
    "datasets",
    "diagnostics",
    "init",
    "io",
    "pad_sequences",
    "prune",
    "random",
    "uncertainty",
]
