"""stochnet: neural networks whose randomness is a controllable, measurable part of the model."""

__version__ = "0.1.0.dev0"

from . import init, random, uncertainty
from ._device import cuda_available
from .estimators import MLPClassifier, MLPRegressor

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "__version__",
    "cuda_available",
    "init",
    "random",
    "uncertainty",
]
