"""Signal propagation at initialisation: how the variance of a random signal changes
through depth under each initialisation.

For a layer ``z = a W`` with i.i.d. weights of variance ``σ_w²`` and ``fan_in`` inputs,
the mean square of the pre-activations obeys ``q_z = fan_in σ_w² E[a²]``; after ReLU
``E[a²] = q_z / 2``. He initialisation (``σ_w² = 2 / fan_in``) therefore keeps
``E[a²]`` constant through any depth, while a fixed ``U(-0.01, 0.01)`` multiplies it by
``fan_in · 0.01² / 3 / 2`` per layer (it vanishes) and a wide uniform explodes it.
Back-propagated gradients follow the same factor per layer in reverse.
"""

from dataclasses import dataclass

import numpy as np

from .._plotting import new_axes
from .._validation import check_shape
from ..init import initialize_layer
from ..random import derive_key, normal
from ._activations import check_activation

#: E[φ(z)²] / E[z²] for z ~ N(0, q): the activation's share of the signal it passes on.
_SECOND_MOMENT_GAIN = {"relu": 0.5, "identity": 1.0}


@dataclass
class SignalPropagation:
    """Per-layer mean squares of a random signal, forward and backward.

    Attributes
    ----------
    forward : ndarray of shape (depth + 1,)
        ``E[a_l²] / E[x²]``: mean square of the activations after layer ``l`` (entry 0
        is the input) relative to the input.
    backward : ndarray of shape (depth + 1,)
        Mean square of the gradient reaching the input of layer ``l`` relative to the
        gradient at the output.
    theory : ndarray of shape (depth + 1,)
        The mean-field prediction of ``forward`` (NaN where the activation has no
        closed form).
    weight_variance : ndarray of shape (depth,)
        Measured ``Var(w)`` of each layer.
    """

    forward: np.ndarray
    backward: np.ndarray
    theory: np.ndarray
    weight_variance: np.ndarray
    label: str

    def plot(self, ax=None):
        """Forward and backward mean squares per layer on a log scale."""
        ax = new_axes(ax)
        layers = np.arange(self.forward.shape[0])
        (line,) = ax.semilogy(layers, self.forward, label=f"{self.label}: forward")
        ax.semilogy(
            layers, self.backward, ls=":", color=line.get_color(), label=f"{self.label}: backward"
        )
        if np.isfinite(self.theory).any():
            ax.semilogy(layers, self.theory, ls="--", lw=0.8, color="0.4")
        ax.set_xlabel("layer")
        ax.set_ylabel("mean square / input")
        ax.legend(loc="best", fontsize=8)
        return ax


def signal_propagation(
    depth=50,
    width=256,
    init="he_normal",
    activation="relu",
    n_samples=1000,
    n_networks=10,
    random_state=None,
    coefs=None,
):
    """Push ``n_samples`` Gaussian inputs through a deep random network and back.

    Parameters
    ----------
    depth, width : int, default=50, 256
        Number of square ``width × width`` layers (ignored when ``coefs`` is given).
    init : str, tuple, scipy.stats frozen distribution or callable, default="he_normal"
        Any initialisation :mod:`stochnet.init` accepts. Biases are zero.
    activation : str, default="relu"
        Any hidden activation of the estimators; the theory line needs "relu" or
        "identity".
    n_samples : int, default=1000
    n_networks : int, default=10
        Independent weight draws averaged over. The mean-field law is an expectation over
        the weights; one finite-width network wanders around it (at width 256 and depth
        50, by a factor of about e^±1).
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seeds the weights (stream ``"init"``) and the inputs (stream ``"user"``).
    coefs : list of arrays, default=None
        Weight matrices to measure instead of drawing new ones, e.g. a fitted
        estimator's ``coefs_[:-1]`` (its hidden layers).

    Returns
    -------
    SignalPropagation

    Examples
    --------
    >>> from stochnet.diagnostics import signal_propagation
    >>> he = signal_propagation(depth=20, width=128, n_samples=200, random_state=0)
    >>> bool(0.5 < he.forward[-1] < 2)
    True
    """
    check_activation(activation)
    n_samples = check_shape(n_samples, "n_samples")[0]
    n_networks = check_shape(n_networks, "n_networks")[0]
    key = derive_key(random_state)
    if coefs is None:
        depth, width = check_shape((depth, width), "depth and width")
        networks = [
            [
                initialize_layer(init, width, width, key, net * depth + layer, activation)[0]
                for layer in range(depth)
            ]
            for net in range(max(n_networks, 1))
        ]
        label = str(init)
    else:
        networks = [[np.asarray(w, dtype=np.float64) for w in coefs]]
        label = "fitted"
    forward, backward = zip(
        *(_propagate(ws, activation, n_samples, key, i) for i, ws in enumerate(networks)),
        strict=True,
    )
    coefs = networks[0]
    variances = np.mean([[w.var() for w in ws] for ws in networks], axis=0)
    gain = _SECOND_MOMENT_GAIN.get(activation, np.nan)
    fans = np.array([w.shape[0] for w in coefs])
    theory = np.concatenate([[1.0], np.cumprod(fans * variances * gain)])
    return SignalPropagation(
        np.mean(forward, axis=0), np.mean(backward, axis=0), theory, variances, label
    )


def _propagate(coefs, activation, n_samples, key, index):
    """Mean squares forward and backward through one network (relative to the input)."""
    phi, dphi = check_activation(activation)
    a = normal((n_samples, coefs[0].shape[0]), key, stream="user", step=2 * index)
    q0 = np.mean(a**2)
    forward, pre = [1.0], []
    for w in coefs:
        z = a @ w
        pre.append(z)
        a = phi(z)
        forward.append(np.mean(a**2) / q0)
    delta = normal((n_samples, coefs[-1].shape[1]), key, stream="user", step=2 * index + 1)
    g0 = np.mean(delta**2)
    backward = [1.0]
    for w, z in zip(reversed(coefs), reversed(pre), strict=True):
        delta = (delta * dphi(z)) @ w.T
        backward.append(np.mean(delta**2) / g0)
    return np.array(forward), np.array(backward[::-1])
