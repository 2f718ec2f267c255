"""The engine: a plan (integer/float tables) plus one flat parameter vector.

Estimators validate and keep books; the engine owns the parameters, optimiser state and
the epoch driver; the kernels do the arithmetic.
"""

from .encoder import AttentionNetwork
from .network import MLPNetwork
from .optim import SGD, Adam
from .trainer import Trainer

__all__ = ["SGD", "Adam", "AttentionNetwork", "MLPNetwork", "Trainer"]
