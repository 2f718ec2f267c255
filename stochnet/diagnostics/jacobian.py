"""Spectral norms of the input–output Jacobian of a fitted MLP, per sample.

``‖J(x)‖₂`` bounds how much the network's output (its logits, before the output
activation) can move under a small input perturbation: ``‖f(x + δ) − f(x)‖ ≲ ‖J‖₂ ‖δ‖``.
It is found by power iteration on ``JᵀJ`` with Jacobian–vector and vector–Jacobian
products, never forming ``J``: one forward pass stores each layer's activation slopes,
then ``v ↦ Jv`` and ``u ↦ Jᵀu`` are chains of matrix products.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg
from sklearn.utils.validation import check_is_fitted

from .._plotting import new_axes
from ..random import derive_key, normal
from ._activations import check_activation


@dataclass
class JacobianNorms:
    """Per-sample spectral norms of the input–logit Jacobian.

    Attributes
    ----------
    norms : ndarray of shape (n_samples,)
    n_iter : int
        Power iterations run (all samples converged to ``tol`` or ``max_iter`` hit).
    converged : bool
    """

    norms: np.ndarray
    n_iter: int
    converged: bool

    def quantiles(self, q=(0.05, 0.5, 0.95)):
        """Quantiles of the norm distribution over the samples."""
        return np.quantile(self.norms, q)

    def plot(self, ax=None, label=None, bins=40):
        """Histogram of the norms over the samples."""
        ax = new_axes(ax)
        ax.hist(self.norms, bins=bins, alpha=0.6, label=label)
        ax.set_xlabel("‖J(x)‖₂ (input → logits)")
        ax.set_ylabel("samples")
        if label is not None:
            ax.legend(loc="best", fontsize=8)
        return ax


class _Linearisation:
    """The network's Jacobians at a batch of inputs, as JVP/VJP closures."""

    def __init__(self, estimator, X):
        if "hidden_layer_sizes" not in getattr(estimator, "get_params", dict)():
            raise TypeError(
                "estimator must be a fitted MLPClassifier or MLPRegressor (stochnet's or "
                f"scikit-learn's), got {type(estimator).__name__}: the Jacobian diagnostics "
                "linearise an MLP's layers."
            )
        check_is_fitted(estimator, "coefs_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != estimator.coefs_[0].shape[0]:
            raise ValueError(
                f"X must have shape (n_samples, {estimator.coefs_[0].shape[0]}), got {X.shape}."
            )
        phi, dphi = check_activation(estimator.activation)
        self.coefs = [np.asarray(w, dtype=np.float64) for w in estimator.coefs_]
        if getattr(estimator, "out_activation_", None) == "gaussian":  # mean head only
            n_targets = self.coefs[-1].shape[1] // 2
            self.coefs[-1] = self.coefs[-1][:, :n_targets]
        self.slopes = []
        a = X
        for w, b in zip(self.coefs[:-1], estimator.intercepts_[:-1], strict=True):
            z = a @ w + b
            self.slopes.append(dphi(z))
            a = phi(z)
        self.shape = (X.shape[0], self.coefs[-1].shape[1], X.shape[1])

    def jvp(self, v):
        """``J v`` per sample: ``v`` (n, n_in) → (n, n_out)."""
        for w, slope in zip(self.coefs[:-1], self.slopes, strict=True):
            v = (v @ w) * slope
        return v @ self.coefs[-1]

    def vjp(self, u):
        """``Jᵀ u`` per sample: ``u`` (n, n_out) → (n, n_in)."""
        u = u @ self.coefs[-1].T
        for w, slope in zip(reversed(self.coefs[:-1]), reversed(self.slopes), strict=True):
            u = (u * slope) @ w.T
        return u


def jacobian_operator(estimator, x):
    """The Jacobian of a fitted MLP's logits at one input ``x`` as a
    :class:`scipy.sparse.linalg.LinearOperator` (``matvec`` = JVP, ``rmatvec`` = VJP).

    Examples
    --------
    >>> import numpy as np, warnings
    >>> import stochnet as sn
    >>> from stochnet.diagnostics import jacobian_operator
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     clf = sn.MLPClassifier((8,), max_iter=5, random_state=0).fit(X, X[:, 0] > 0)
    >>> jacobian_operator(clf, X[0]).shape
    (1, 4)
    """
    lin = _Linearisation(estimator, np.asarray(x, dtype=np.float64).reshape(1, -1))
    _, n_out, n_in = lin.shape
    return scipy.sparse.linalg.LinearOperator(
        (n_out, n_in),
        matvec=lambda v: lin.jvp(np.ravel(v)[None, :])[0],
        rmatvec=lambda u: lin.vjp(np.ravel(u)[None, :])[0],
        dtype=np.float64,
    )


def jacobian_norms(estimator, X, max_iter=200, tol=1e-8, random_state=None):
    """Spectral norm of the input–logit Jacobian at every row of ``X``.

    Parameters
    ----------
    estimator : fitted MLPClassifier or MLPRegressor
    X : array of shape (n_samples, n_features)
    max_iter : int, default=200
    tol : float, default=1e-8
        Stop when no sample's norm estimate changes by more than ``tol`` relative.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seeds the starting vectors.

    Returns
    -------
    JacobianNorms

    Examples
    --------
    >>> import numpy as np, warnings
    >>> import stochnet as sn
    >>> from stochnet.diagnostics import jacobian_norms
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     clf = sn.MLPClassifier((8,), max_iter=5, random_state=0).fit(X, X[:, 0] > 0)
    >>> jacobian_norms(clf, X, random_state=0).norms.shape
    (50,)
    """
    if not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int, got {max_iter!r}.")
    if not (isinstance(tol, float | int) and tol > 0):
        raise ValueError(f"tol must be a positive float, got {tol!r}.")
    lin = _Linearisation(estimator, X)
    n, _, n_in = lin.shape
    v = normal((n, n_in), derive_key(random_state), stream="user")
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    sigma = np.zeros(n)
    converged = False
    for iteration in range(1, max_iter + 1):
        w = lin.vjp(lin.jvp(v))  # JᵀJ v
        lam = np.linalg.norm(w, axis=1)
        new_sigma = np.sqrt(lam)
        v = w / np.where(lam > 0, lam, 1.0)[:, None]
        change = np.abs(new_sigma - sigma) / np.maximum(new_sigma, np.finfo(float).tiny)
        sigma = new_sigma
        if iteration > 1 and np.all(change <= tol):
            converged = True
            break
    return JacobianNorms(sigma, iteration, converged)
