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

from ._plotting import new_axes


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

    def plot(self, x, ax=None, target=0):
        """Uncertainty bands over a 1-D input (regression): mean ± 2σ of the total
        and of the aleatoric part; classification shows the three entropies.

        Parameters
        ----------
        x : array of shape (n,)
            The 1-D input of each row, for the horizontal axis.
        target : int, default=0
            Which target of a multi-output regression to show.
        """
        ax = new_axes(ax)
        x = np.asarray(x).ravel()
        order = np.argsort(x)
        xs = x[order]
        if self.mean.ndim == 2 and self.total.ndim == 1:  # classification
            for name in ("total", "aleatoric", "epistemic"):
                ax.plot(xs, getattr(self, name)[order], label=name)
            ax.set_ylabel("entropy [nats]")
        else:
            pick = (lambda a: a[:, target]) if self.mean.ndim == 2 else (lambda a: a)
            mean, total, alea = (pick(a)[order] for a in (self.mean, self.total, self.aleatoric))
            for var, alpha, what in ((total, 0.25, "total"), (alea, 0.35, "aleatoric")):
                band = 2 * np.sqrt(var)
                ax.fill_between(xs, mean - band, mean + band, alpha=alpha, label=f"±2σ {what}")
            ax.plot(xs, mean, color="k", lw=1, label="mean")
        ax.set_xlabel("x")
        ax.legend(loc="best")
        return ax


def _float_array(value, name, nonnegative=False):
    """``value`` as a finite float64 array, or a ValueError naming ``name``."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers, got {value!r:.80}.") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite values.")
    if nonnegative and np.any(array < 0):
        raise ValueError(f"{name} must be non-negative.")
    return array


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
    p = _float_array(probabilities, "probabilities", nonnegative=True)
    if p.ndim != 3:
        raise ValueError(f"probabilities must have shape (S, n, k), got {p.shape}.")
    mean = p.mean(axis=0)
    total = _entropy(mean)
    aleatoric = _entropy(p).mean(axis=0)
    return UncertaintyResult(mean, total, aleatoric, total - aleatoric, p if keep_samples else None)


def decompose_multilabel(probabilities, keep_samples=False):
    """Entropy decomposition per label of a stack of label probabilities ``(S, n, k)``:
    each label is its own Bernoulli variable. ``mean`` and the entropies are
    ``(n, k)``.

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet.uncertainty import decompose_multilabel
    >>> p = np.array([[[0.9, 0.5]], [[0.1, 0.5]]])  # label 0: disagreement; 1: coin flip
    >>> r = decompose_multilabel(p)
    >>> r.mean.shape, bool(r.epistemic[0, 0] > r.epistemic[0, 1])
    ((1, 2), True)
    """
    p = _float_array(probabilities, "probabilities", nonnegative=True)
    if p.ndim != 3:
        raise ValueError(f"probabilities must have shape (S, n, k), got {p.shape}.")
    n_draws, n, k = p.shape
    binary = np.stack([1 - p, p], axis=-1).reshape(n_draws, n * k, 2)
    result = decompose_classification(binary, keep_samples)
    result.mean = result.mean[:, 1].reshape(n, k)
    for name in ("total", "aleatoric", "epistemic"):
        setattr(result, name, getattr(result, name).reshape(n, k))
    if keep_samples:
        result.samples = p
    return result


def decompose_regression(means, variances=None, keep_samples=False):
    """Law-of-total-variance decomposition of ``S`` predictive means and variances.

    Parameters
    ----------
    means : array of shape (S, n) or (S, n, t)
    variances : array of the same shape, or None for models without a variance head
        (aleatoric is then zero).

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet.uncertainty import decompose_regression
    >>> means = np.array([[0.0, 1.0], [2.0, 1.0]])  # 2 members, 2 samples
    >>> r = decompose_regression(means, np.full((2, 2), 0.5))
    >>> r.mean.tolist(), r.aleatoric.tolist(), r.epistemic.tolist()
    ([1.0, 1.0], [0.5, 0.5], [1.0, 0.0])
    """
    mu = _float_array(means, "means")
    if mu.ndim not in (2, 3):
        raise ValueError(f"means must have shape (S, n) or (S, n, t), got {mu.shape}.")
    var = np.zeros_like(mu) if variances is None else _float_array(variances, "variances", True)
    if var.shape != mu.shape:
        raise ValueError(f"variances must have the shape of means {mu.shape}, got {var.shape}.")
    aleatoric = var.mean(axis=0)
    epistemic = mu.var(axis=0)
    samples = np.stack([mu, var]) if keep_samples else None
    return UncertaintyResult(mu.mean(axis=0), aleatoric + epistemic, aleatoric, epistemic, samples)


# ----------------------------------------------------------------- metrics


def _probabilities(y_true, proba, classes=None):
    """One-hot targets ``(n, k)`` and validated probabilities ``(n, k)``."""
    proba = _float_array(proba, "proba", nonnegative=True)
    y_true = np.asarray(y_true)
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be a 1-D array of labels, got shape {y_true.shape}.")
    if y_true.dtype.kind not in "biufUSO":
        raise ValueError(f"y_true must hold labels (numbers or strings), got {y_true.dtype}.")
    if proba.ndim != 2 or proba.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"proba must have shape (n_samples, n_classes) matching y_true's {y_true.shape[0]} "
            f"samples, got {proba.shape}."
        )
    if not np.all(np.isfinite(proba)) or np.any(proba < 0):
        raise ValueError("proba must hold finite, non-negative probabilities.")
    classes = np.arange(proba.shape[1]) if classes is None else np.asarray(classes)
    if classes.shape[0] != proba.shape[1]:
        raise ValueError(f"classes has {classes.shape[0]} entries, proba {proba.shape[1]} columns.")
    # classes in any order: look labels up among the sorted ones, then map back.
    order = np.argsort(classes, kind="stable")
    position = np.minimum(np.searchsorted(classes[order], y_true), len(classes) - 1)
    if np.any(classes[order][position] != y_true):
        raise ValueError("y_true holds labels that are not in classes.")
    index = order[position]
    onehot = np.zeros_like(proba)
    onehot[np.arange(proba.shape[0]), index] = 1.0
    return onehot, proba


def nll(y_true, proba=None, classes=None, mean=None, var=None):
    """Mean negative log-likelihood.

    Classification: ``-mean log p(y_true)`` from ``proba`` ``(n, k)`` (labels are
    positions in ``classes``, default ``0..k-1``). Regression: the Gaussian NLL of
    ``y_true`` under ``N(mean, var)``.

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet.uncertainty import nll
    >>> round(nll([0, 1], np.array([[0.5, 0.5], [0.5, 0.5]])), 4)
    0.6931
    """
    if proba is None:
        if mean is None or var is None:
            raise ValueError("nll needs proba (classification) or mean and var (regression).")
        y, mu, v = (np.asarray(a, dtype=np.float64) for a in (y_true, mean, var))
        if np.any(v <= 0):
            raise ValueError("var must be positive.")
        return float(np.mean(0.5 * (np.log(2 * np.pi * v) + (y - mu) ** 2 / v)))
    onehot, p = _probabilities(y_true, proba, classes)
    picked = np.clip((onehot * p).sum(1), np.finfo(np.float64).tiny, None)
    return float(-np.mean(np.log(picked)))


def brier_score(y_true, proba, classes=None):
    """Multi-class Brier score ``mean_i Σ_k (p_ik - 1[y_i = k])²`` (0 is perfect).

    Examples
    --------
    >>> from stochnet.uncertainty import brier_score
    >>> round(brier_score([0, 1], [[0.9, 0.1], [0.2, 0.8]]), 6)
    0.05
    """
    onehot, p = _probabilities(y_true, proba, classes)
    return float(np.mean(((p - onehot) ** 2).sum(1)))


@dataclass
class ReliabilityDiagram:
    """Confidence against accuracy per bin, and the calibration errors they give.

    Attributes
    ----------
    confidence, accuracy, counts : ndarray
        Mean top-class probability, accuracy and number of samples of each non-empty bin.
    ece : float
        Expected calibration error ``Σ_b n_b/n |acc_b - conf_b|``.
    mce : float
        Maximum calibration error over the bins.
    strategy : str
    """

    confidence: np.ndarray
    accuracy: np.ndarray
    counts: np.ndarray
    ece: float
    mce: float
    strategy: str

    def plot(self, ax=None):
        """Draw the diagram (needs matplotlib); returns the axes."""
        ax = new_axes(ax, figsize=(4.5, 4.5))
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
        ax.plot(self.confidence, self.accuracy, "-", color="C0", lw=1)
        # Marker area shows how many samples a bin holds: sparse bins are noisy.
        area = 12 + 200 * self.counts / self.counts.max()
        ax.scatter(
            self.confidence,
            self.accuracy,
            s=area,
            color="C0",
            zorder=3,
            label=f"model (ECE {self.ece:.3f})",
        )
        for conf, acc, count in zip(self.confidence, self.accuracy, self.counts, strict=True):
            ax.annotate(
                str(count),
                (conf, acc),
                textcoords="offset points",
                xytext=(4, -10),
                fontsize=7,
                color="0.35",
            )
        ax.set_xlabel("confidence (top-class probability)")
        ax.set_ylabel("accuracy")
        ax.set_xlim(-0.02, 1.04)
        ax.set_ylim(-0.04, 1.06)
        ax.legend(loc="best", fontsize=8)
        return ax


def reliability_diagram(y_true, proba, n_bins=15, strategy="uniform", classes=None):
    """Bin predictions by top-class probability and compare with the accuracy.

    Parameters
    ----------
    y_true : array of shape (n,)
    proba : array of shape (n, k)
    n_bins : int, default=15
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width bins on [0, 1], or bins holding equal numbers of samples
        (adaptive ECE).

    Returns
    -------
    ReliabilityDiagram

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet.uncertainty import reliability_diagram
    >>> proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    >>> r = reliability_diagram([0, 0, 1, 0], proba, n_bins=5)
    >>> round(r.ece, 3)
    0.3
    """
    if not isinstance(n_bins, int) or isinstance(n_bins, bool) or not 1 <= n_bins <= 10**6:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}.")
    if not isinstance(strategy, str) or strategy not in ("uniform", "quantile"):
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}.")
    onehot, p = _probabilities(y_true, proba, classes)
    confidence = p.max(1)
    correct = onehot[np.arange(p.shape[0]), p.argmax(1)]
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.quantile(confidence, np.linspace(0.0, 1.0, n_bins + 1))
    bins = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    filled = counts > 0
    conf = np.bincount(bins, confidence, n_bins)[filled] / counts[filled]
    acc = np.bincount(bins, correct, n_bins)[filled] / counts[filled]
    gaps = np.abs(acc - conf)
    ece = float((counts[filled] / p.shape[0] * gaps).sum())
    return ReliabilityDiagram(conf, acc, counts[filled], ece, float(gaps.max()), strategy)


def expected_calibration_error(y_true, proba, n_bins=15, strategy="uniform", classes=None):
    """ECE of the top-class probability (see :func:`reliability_diagram`).

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet.uncertainty import expected_calibration_error
    >>> expected_calibration_error([0, 1], np.array([[1.0, 0.0], [0.0, 1.0]]))
    0.0
    """
    return reliability_diagram(y_true, proba, n_bins, strategy, classes).ece
