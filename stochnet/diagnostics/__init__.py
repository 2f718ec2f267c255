"""Diagnostics: the random variables of deep learning, measured beside their theory.

Each function returns a dataclass holding the measured numbers, the theoretical
prediction beside them, and ``.plot(ax=None)`` (matplotlib needed).
"""

from .attention import AttentionScaling, attention_scaling
from .gradients import GradientEstimators, gradient_estimators
from .signal import SignalPropagation, signal_propagation

__all__ = [
    "AttentionScaling",
    "GradientEstimators",
    "SignalPropagation",
    "attention_scaling",
    "gradient_estimators",
    "signal_propagation",
]
