"""stochnet: neural networks whose randomness is a controllable, measurable part of the model."""

__version__ = "0.1.0.dev0"

from . import init, random
from ._device import cuda_available

__all__ = ["__version__", "cuda_available", "init", "random"]
