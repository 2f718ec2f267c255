"""Diagnostics: the random variables of deep learning, measured beside their theory.

Each function returns a dataclass holding the measured numbers, the theoretical
prediction beside them, and ``.plot(ax=None)`` (matplotlib needed).
"""

from .attention import AttentionScaling, HeadLogits, attention_scaling, head_logits
from .dropout import DropoutGap, dropout_gap
from .gradients import GradientEstimators, gradient_estimators
from .jacobian import JacobianNorms, jacobian_norms, jacobian_operator
from .noise import MinibatchNoise, minibatch_noise
from .signal import SignalPropagation, signal_propagation

__all__ = [
    "AttentionScaling",
    "DropoutGap",
    "GradientEstimators",
    "HeadLogits",
    "JacobianNorms",
    "MinibatchNoise",
    "SignalPropagation",
    "attention_scaling",
    "dropout_gap",
    "gradient_estimators",
    "head_logits",
    "jacobian_norms",
    "jacobian_operator",
    "minibatch_noise",
    "signal_propagation",
]
