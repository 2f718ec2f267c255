"""Diagnostics: the random variables of deep learning, measured beside their theory.

Each function returns a dataclass holding the measured numbers, the theoretical
prediction beside them, and ``.plot(ax=None)`` (matplotlib needed).
"""

from .attention import AttentionScaling, attention_scaling
from .gradients import GradientEstimators, gradient_estimators
from .jacobian import JacobianNorms, jacobian_norms, jacobian_operator
from .signal import SignalPropagation, signal_propagation

__all__ = [
    "AttentionScaling",
    "GradientEstimators",
    "JacobianNorms",
    "SignalPropagation",
    "attention_scaling",
    "gradient_estimators",
    "jacobian_norms",
    "jacobian_operator",
    "signal_propagation",
]
