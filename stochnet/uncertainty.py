"""Splitting predictive uncertainty into aleatoric and epistemic parts.

Given ``S`` stochastic predictions of the same inputs (MC-dropout samples or ensemble
members):

* classification, from probabilities ``p_s``: the predictive entropy splits as
  ``H[p̄] = E_s H[p_s] + I``, total = aleatoric (expected entropy) + epistemic (mutual
  information);
* regression, from means ``μ_s`` and predicted variances ``σ²_s``: the law of total
  variance ``Var[y] = E_s σ²_s + Var_s μ_s``, total = aleatoric + epistemic.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class UncertaintyResult:
    """Predictive mean and its uncertainty split (per sample, and per target).

    Attributes
    ----------
    mean : ndarray
        Mean prediction: class probabilities ``(n, k)`` or regression means.
    total, aleatoric, epistemic : ndarray
        ``total = aleatoric + epistemic``: entropies in nats (classification) or
        variances (regression).
    samples : ndarray or None
        The raw stack ``(S, n, ...)`` when requested.
    """

    mean: np.ndarray
    total: np.ndarray
    aleatoric: np.ndarray
    epistemic: np.ndarray
    samples: np.ndarray | None = None


def _entropy(p, axis=-1):
    p = np.clip(p, np.finfo(p.dtype).tiny, None)
    return -(p * np.log(p)).sum(axis=axis)


def decompose_classification(probabilities, keep_samples=False):
    """Entropy decomposition of a stack of class probabilities ``(S, n, k)``.

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet.uncertainty import decompose_classification
    >>> p = np.array([[[0.9, 0.1]], [[0.1, 0.9]]])  # two confident, disagreeing members
    >>> r = decompose_classification(p)
    >>> bool(r.epistemic[0] > r.aleatoric[0])
    True
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 3:
        raise ValueError(f"probabilities must have shape (S, n, k), got {p.shape}.")
    mean = p.mean(axis=0)
    total = _entropy(mean)
    aleatoric = _entropy(p).mean(axis=0)
    return UncertaintyResult(mean, total, aleatoric, total - aleatoric, p if keep_samples else None)


def decompose_regression(means, variances=None, keep_samples=False):
    """Law-of-total-variance decomposition of ``S`` predictive means and variances.

    Parameters
    ----------
    means : array of shape (S, n) or (S, n, t)
    variances : array of the same shape, or None for models without a variance head
        (aleatoric is then zero).
    """
    mu = np.asarray(means, dtype=np.float64)
    if mu.ndim not in (2, 3):
        raise ValueError(f"means must have shape (S, n) or (S, n, t), got {mu.shape}.")
    var = np.zeros_like(mu) if variances is None else np.asarray(variances, dtype=np.float64)
    if var.shape != mu.shape:
        raise ValueError(f"variances must have the shape of means {mu.shape}, got {var.shape}.")
    aleatoric = var.mean(axis=0)
    epistemic = mu.var(axis=0)
    samples = np.stack([mu, var]) if keep_samples else None
    return UncertaintyResult(mu.mean(axis=0), aleatoric + epistemic, aleatoric, epistemic, samples)
