"""Minibatch noise: the variance of the minibatch loss and gradient against batch size.

For ``m`` rows drawn at random, the minibatch mean of per-sample losses (or gradients)
has variance ``σ²/m`` (times the finite-population factor ``(n − m)/(n − 1)``): a line of
slope −1 on log–log axes. When the rows of a batch are correlated (drawn from one group:
augmentations of one image, one patient, one session) with pairwise correlation ``ρ``,
the variance is ``σ²/m · (1 + (m − 1)ρ)`` and levels off at the floor ``ρσ²``: bigger
batches stop helping. The gradient noise scale ``B_noise = tr Σ / |G|²`` (McCandlish et
al. 2018) is the batch size at which the noise and the signal of a step are comparable —
a suggested critical batch size.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._plotting import new_axes
from ..random import derive_key, permutation


@dataclass
class MinibatchNoise:
    """Loss and gradient variance per batch size, with the σ²/m law beside them.

    Attributes
    ----------
    batch_sizes : ndarray
    loss_variance, gradient_variance : ndarray
        Variance of the minibatch loss and trace of the covariance of the minibatch
        gradient, over ``n_draws`` random batches.
    loss_theory, gradient_theory : ndarray
        ``σ²/m`` (with the finite-population factor) for independent rows, or
        ``σ²/m (1 + (m − 1)ρ)`` for grouped rows, from the per-sample values.
    slope : float
        Fitted slope of ``log gradient_variance`` on ``log m`` (−1 for independent rows).
    floor, floor_theory : float
        Gradient-variance floor fitted from the curve (``a`` in ``a + b/m``) and ``ρσ²``
        computed directly from pairs of rows in the same group (0 without groups).
    noise_scale : float
        ``B_noise = tr Σ / |G|²``.
    """

    batch_sizes: np.ndarray
    loss_variance: np.ndarray
    gradient_variance: np.ndarray
    loss_theory: np.ndarray
    gradient_theory: np.ndarray
    slope: float
    floor: float
    floor_theory: float
    noise_scale: float

    def plot(self, ax=None):
        """Gradient and loss variance against batch size, log–log, with the theory."""
        ax = new_axes(ax)
        for name, theory, label in (
            ("gradient_variance", self.gradient_theory, "tr Cov(gradient)"),
            ("loss_variance", self.loss_theory, "Var(loss)"),
        ):
            (line,) = ax.loglog(self.batch_sizes, getattr(self, name), "o", label=label)
            ax.loglog(self.batch_sizes, theory, "--", lw=0.8, color=line.get_color())
        ax.set_xlabel("batch size m")
        ax.set_ylabel("variance over random batches")
        ax.legend(loc="best", fontsize=8)
        return ax


def minibatch_noise(
    estimator,
    X,
    y,
    batch_sizes=(1, 2, 4, 8, 16, 32, 64),
    n_draws=200,
    groups=None,
    random_state=None,
):
    """Measure the minibatch noise of a fitted MLP's training objective at its weights.

    Parameters
    ----------
    estimator : fitted MLPClassifier or MLPRegressor
    X, y : the data the batches are drawn from
    batch_sizes : sequence of int, default=(1, 2, 4, 8, 16, 32, 64)
    n_draws : int, default=200
        Random batches per batch size.
    groups : array of shape (n_samples,), default=None
        Group labels: each batch then comes from one group (drawn uniformly), without
        replacement inside it, so its rows are correlated.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState

    Returns
    -------
    MinibatchNoise

    Notes
    -----
    The per-sample gradients are computed once and kept (``n_samples × n_params``
    float64), so use a subsample of ``X`` for large networks.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from stochnet import MLPClassifier
    >>> from stochnet.diagnostics import minibatch_noise
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> r = minibatch_noise(clf, X, y, batch_sizes=(1, 4, 16), n_draws=50, random_state=0)
    >>> r.batch_sizes.tolist()
    [1, 4, 16]
    """
    check_is_fitted(estimator, "network_")
    sizes = np.asarray(batch_sizes)
    if sizes.ndim != 1 or sizes.dtype.kind not in "iu" or np.any(sizes < 1):
        raise ValueError(f"batch_sizes must be positive ints, got {batch_sizes!r}.")
    if not isinstance(n_draws, int) or n_draws < 2:
        raise ValueError(f"n_draws must be an int >= 2, got {n_draws!r}.")
    X, Y = estimator._network_data(X, y)
    net = estimator.network_
    theta = net.theta.copy()
    n = X.shape[0]
    members = _groups(groups, n)
    if sizes.max() > min(len(rows) for rows in members):
        raise ValueError("batch_sizes must not exceed the number of rows (in the smallest group).")

    def objective(rows):
        loss, grad = net.loss_and_grad(theta, X[rows], Y[rows])
        return float(loss), grad.astype(np.float64)

    losses, grads = zip(*(objective(np.array([i])) for i in range(n)), strict=True)
    losses, grads = np.array(losses), np.array(grads)
    G = grads.mean(axis=0)
    loss_c, grad_c = losses - losses.mean(), grads - G
    sigma2_loss = np.mean(loss_c**2)
    sigma2_grad = np.mean((grad_c**2).sum(axis=1))
    rho_loss, rho_grad = 0.0, 0.0
    if groups is not None:
        pairs = sum(len(r) * (len(r) - 1) for r in members)
        rho_loss = sum(loss_c[r].sum() ** 2 - (loss_c[r] ** 2).sum() for r in members) / pairs
        rho_grad = (
            sum((grad_c[r].sum(0) ** 2).sum() - (grad_c[r] ** 2).sum() for r in members) / pairs
        )
    key = derive_key(random_state)
    loss_var, grad_var = np.empty(sizes.size), np.empty(sizes.size)
    for i, m in enumerate(sizes.tolist()):
        batch_losses, batch_grads = [], []
        for draw in range(n_draws):
            step = i * n_draws + draw
            rows = members[int(permutation(len(members), key, stream="user", step=step)[0])]
            rows = rows[permutation(len(rows), key, stream="shuffle", step=step)[:m]]
            loss, grad = losses[rows].mean(), grads[rows].mean(axis=0)
            batch_losses.append(loss)
            batch_grads.append(grad)
        batch_grads = np.array(batch_grads)
        loss_var[i] = np.var(batch_losses, ddof=1)
        grad_var[i] = ((batch_grads - batch_grads.mean(0)) ** 2).sum(1).sum() / (n_draws - 1)
    m = sizes.astype(float)
    if groups is None:
        correction = (n - m) / (n - 1) if n > 1 else np.ones_like(m)
        loss_theory = sigma2_loss / m * correction
        grad_theory = sigma2_grad / m * correction
    else:
        loss_theory = (sigma2_loss - rho_loss) / m + rho_loss
        grad_theory = (sigma2_grad - rho_grad) / m + rho_grad
    slope = float(np.polyfit(np.log(m), np.log(grad_var), 1)[0])
    design = np.c_[np.ones_like(m), 1 / m]
    floor = float(np.linalg.lstsq(design, grad_var, rcond=None)[0][0])
    noise_scale = float(sigma2_grad / max(G @ G, np.finfo(float).tiny))
    return MinibatchNoise(
        sizes,
        loss_var,
        grad_var,
        loss_theory,
        grad_theory,
        slope,
        floor,
        float(rho_grad),
        noise_scale,
    )


def _groups(groups, n):
    """Row indices of each group (one group of all rows when ``groups`` is None)."""
    if groups is None:
        return [np.arange(n)]
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must have one label per row ({n}), got shape {groups.shape}.")
    return [np.flatnonzero(groups == g) for g in np.unique(groups)]
