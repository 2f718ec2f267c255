"""stochnet: neural networks whose randomness is a controllable, measurable part of the model."""

__version__ = "0.1.0.dev0"

from . import augment, diagnostics, init, io, prune, random, uncertainty
from ._device import cuda_available
from .augment import GaussianNoise, RandomCrop
from .estimators import EnsembleClassifier, EnsembleRegressor, MLPClassifier, MLPRegressor

__all__ = [
    "EnsembleClassifier",
    "EnsembleRegressor",
    "GaussianNoise",
    "MLPClassifier",
    "MLPRegressor",
    "RandomCrop",
    "__version__",
    "augment",
    "cuda_available",
    "diagnostics",
    "init",
    "io",
    "prune",
    "random",
    "uncertainty",
]
