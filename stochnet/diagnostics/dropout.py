"""The Jensen gap of dropout, and the variance dropout adds to each layer.

At prediction time an inverted-dropout network uses its weights as they are (the
"weight-scaled" network), which is exact for a linear network: ``E[m / (1 − p)] = 1``.
Through a nonlinearity ``f`` it is not: ``E[f(dropout net)] − f(E[...])`` is the Jensen
gap, what MC dropout averages out. Per unit, the inverted mask adds variance: for an
activation ``a`` entering dropout, ``Var[a m / (1 − p)] = a² p / (1 − p)``, a diagonal term
on top of the covariance the layer had without dropout.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._plotting import new_axes
from ..random import derive_key, dropout_mask
from ._activations import check_activation


@dataclass
class DropoutGap:
    """Jensen gap per output and the variance dropout adds per hidden layer.

    Attributes
    ----------
    gap : ndarray of shape (n_outputs,)
        Mean over the rows of ``E[f(dropout net)] − f(weight-scaled net)``, from the
        estimator's own compiled MC-dropout passes.
    gap_standard_error : ndarray of shape (n_outputs,)
    rates : tuple of float
        Dropout rate of each hidden layer.
    added_variance : ndarray of shape (n_hidden,)
        Mean over rows and units of the variance, across masks, of each hidden layer's
        output after dropout (with dropout in the layers below as well).
    added_variance_theory : ndarray of shape (n_hidden,)
        ``p / (1 − p) · E[a²]`` from the dropout-free activations: exact for the first
        hidden layer, first order above it.
    """

    gap: np.ndarray
    gap_standard_error: np.ndarray
    rates: tuple
    added_variance: np.ndarray
    added_variance_theory: np.ndarray

    def plot(self, ax=None):
        """Jensen gap per output unit with ±2 standard errors."""
        ax = new_axes(ax)
        units = np.arange(self.gap.shape[0])
        ax.bar(units, self.gap, yerr=2 * self.gap_standard_error, capsize=3)
        ax.axhline(0.0, color="0.4", lw=0.8)
        ax.set_xlabel("output unit")
        ax.set_ylabel("E[f(dropout net)] − f(weight-scaled net)")
        return ax


def dropout_gap(estimator, X, mc_samples=200, random_state=None):
    """Measure the Jensen gap and the added variance of a fitted dropout MLP on ``X``.

    Parameters
    ----------
    estimator : fitted MLPClassifier or MLPRegressor with ``dropout > 0``
    X : array of shape (n_samples, n_features)
    mc_samples : int, default=200
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState

    Returns
    -------
    DropoutGap

    Examples
    --------
    >>> import numpy as np, warnings
    >>> import stochnet as sn
    >>> from stochnet.diagnostics import dropout_gap
    >>> X = np.random.default_rng(0).normal(size=(60, 4))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     clf = sn.MLPClassifier((16,), dropout=0.3, max_iter=5).fit(X, X[:, 0] > 0)
    >>> dropout_gap(clf, X, mc_samples=20, random_state=0).gap.shape
    (1,)
    """
    check_is_fitted(estimator, "network_")
    rates = tuple(float(p) for p in estimator.network_.dropout)
    if not any(rates):
        raise ValueError("dropout_gap needs an estimator fitted with dropout > 0.")
    net = estimator.network_
    X = estimator._network_data(X)
    samples = net.predict_mc(X, mc_samples, random_state)  # (S, n, k)
    deterministic = net.predict(X)
    per_row = samples.mean(axis=0) - deterministic
    gap = per_row.mean(axis=0)
    mc_error = samples.std(axis=0, ddof=1) / np.sqrt(mc_samples)  # (n, k)
    gap_se = np.sqrt((mc_error**2).sum(axis=0)) / per_row.shape[0]
    measured, theory = _layer_variances(estimator, X, rates, mc_samples, random_state)
    return DropoutGap(gap, gap_se, rates, measured, theory)


def _layer_variances(estimator, X, rates, mc_samples, random_state):
    """Variance across masks of each hidden layer's dropped-out output (NumPy, float64)."""
    phi, _ = check_activation(estimator.activation)
    coefs = [np.asarray(w, dtype=np.float64) for w in estimator.coefs_[:-1]]
    biases = [np.asarray(b, dtype=np.float64) for b in estimator.intercepts_[:-1]]
    X = X.astype(np.float64)
    key = derive_key(random_state)
    clean = X
    noisy = np.broadcast_to(X, (mc_samples, *X.shape))
    measured, theory = [], []
    for layer, (w, b, p) in enumerate(zip(coefs, biases, rates, strict=True)):
        clean = phi(clean @ w + b)
        noisy = phi(noisy @ w + b)
        if p > 0:
            keep = dropout_mask(noisy.shape, p, key, step=layer)
            noisy = noisy * keep / (1.0 - p)
        measured.append(noisy.var(axis=0, ddof=1).mean())
        theory.append(p / (1.0 - p) * np.mean(clean**2))
    return np.array(measured), np.array(theory)
