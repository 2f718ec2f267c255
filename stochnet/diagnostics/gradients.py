"""Score-function versus reparameterisation estimates of ``∇_μ E_{x~N(μ,σ²)}[f(x)]``.

Both are unbiased:

* score function (REINFORCE): ``f(x) (x − μ) / σ²``, optionally with a baseline ``b``
  subtracted from ``f`` (leave-one-out mean of the other draws, which keeps it unbiased);
* reparameterisation: ``x = μ + σ ε`` with ``ε ~ N(0, 1)``, so the estimate is ``f'(x)``.

Their variances differ by orders of magnitude: the score function multiplies the value
of ``f`` (not its slope) by a zero-mean random factor. For ``f(x) = x²`` one draw has
variance ``μ⁴/σ² + 14μ² + 15σ²`` (score function) against ``4σ²``
(reparameterisation): the gap grows like ``(μ/σ)⁴``.
"""

from dataclasses import dataclass

import numpy as np

from .._plotting import new_axes
from ..random import derive_key, normal

#: Test functions: f, f', and the exact ∇_μ E[f(x)] for x ~ N(μ, σ²).
FUNCTIONS = {
    "quadratic": (lambda x: x**2, lambda x: 2 * x, lambda mu, sigma: 2 * mu),
    "sin": (np.sin, np.cos, lambda mu, sigma: np.cos(mu) * np.exp(-(sigma**2) / 2)),
}

ESTIMATORS = ("score_function", "score_function_baseline", "reparameterisation")


@dataclass
class GradientEstimators:
    """Mean and variance of each estimator over repeated draws, per sample count.

    Attributes
    ----------
    sample_sizes : ndarray
        Draws per estimate ``m``.
    exact : float
        ``∇_μ E[f(x)]``.
    mean, variance : dict of str to ndarray
        Over ``n_repeats`` estimates of ``m`` draws each, for every estimator in
        :data:`ESTIMATORS`. The variance of a mean of ``m`` draws is ``σ²_1 / m``.
    theory_variance : dict of str to ndarray
        The exact variance of each estimate where it has a closed form (the quadratic;
        NaN otherwise).
    n_repeats : int
    """

    sample_sizes: np.ndarray
    exact: float
    mean: dict
    variance: dict
    theory_variance: dict
    n_repeats: int

    def standard_error(self, name):
        """Standard error of ``mean[name]``."""
        return np.sqrt(self.variance[name] / self.n_repeats)

    def plot(self, ax=None):
        """Estimator variance against sample count (log–log)."""
        ax = new_axes(ax)
        for name in ESTIMATORS:
            (line,) = ax.loglog(
                self.sample_sizes, self.variance[name], "o", label=name.replace("_", " ")
            )
            ax.loglog(
                self.sample_sizes, self.theory_variance[name], "--", lw=0.8, color=line.get_color()
            )
        ax.set_xlabel("samples per estimate m")
        ax.set_ylabel("variance of the gradient estimate")
        ax.legend(loc="best", fontsize=8)
        return ax


def gradient_estimators(
    f="quadratic",
    mu=2.0,
    sigma=1.0,
    sample_sizes=(2, 8, 32, 128, 512),
    n_repeats=1000,
    random_state=None,
):
    """Measure the three estimators of ``∇_μ E[f(x)]``, ``x ~ N(μ, σ²)``.

    Parameters
    ----------
    f : {"quadratic", "sin"} or (callable, callable, float), default="quadratic"
        A named test function, or ``(f, f_prime, exact_gradient)`` (vectorised).
    mu, sigma : float, default=2.0, 1.0
    sample_sizes : sequence of int, default=(2, 8, 32, 128, 512)
        Draws per estimate (at least 2 for the leave-one-out baseline).
    n_repeats : int, default=1000
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState

    Returns
    -------
    GradientEstimators

    Examples
    --------
    >>> from stochnet.diagnostics import gradient_estimators
    >>> r = gradient_estimators(sample_sizes=(16,), n_repeats=200, random_state=0)
    >>> bool(r.variance["reparameterisation"][0] < r.variance["score_function"][0])
    True
    """
    if isinstance(f, str):
        if f not in FUNCTIONS:
            raise ValueError(f"f must be one of {sorted(FUNCTIONS)} or a tuple, got {f!r}.")
        func, slope, exact = FUNCTIONS[f]
        exact = float(exact(mu, sigma))
    else:
        try:
            func, slope, exact = f
            exact = float(exact)
        except (TypeError, ValueError):
            raise ValueError("f must be a name or (f, f_prime, exact_gradient).") from None
    if not (np.isfinite(mu) and np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"mu must be finite and sigma positive, got {mu!r}, {sigma!r}.")
    sizes = np.asarray(sample_sizes)
    if sizes.ndim != 1 or sizes.dtype.kind not in "iu" or np.any(sizes < 2):
        raise ValueError(f"sample_sizes must be ints >= 2, got {sample_sizes!r}.")
    if not isinstance(n_repeats, int) or n_repeats < 2:
        raise ValueError(f"n_repeats must be an int >= 2, got {n_repeats!r}.")
    key = derive_key(random_state)
    mean = {name: np.empty(sizes.size) for name in ESTIMATORS}
    variance = {name: np.empty(sizes.size) for name in ESTIMATORS}
    for i, m in enumerate(sizes):
        eps = normal((n_repeats, int(m)), key, stream="user", step=i)
        x = mu + sigma * eps
        fx = func(x)
        score = (x - mu) / sigma**2
        leave_one_out = (fx.sum(axis=1, keepdims=True) - fx) / (m - 1)
        per_draw = {
            "score_function": fx * score,
            "score_function_baseline": (fx - leave_one_out) * score,
            "reparameterisation": slope(x),
        }
        for name, draws in per_draw.items():
            estimates = draws.mean(axis=1)
            mean[name][i] = estimates.mean()
            variance[name][i] = estimates.var(ddof=1)
    per_draw = {name: np.nan for name in ESTIMATORS}
    if f == "quadratic":
        per_draw["score_function"] = mu**4 / sigma**2 + 14 * mu**2 + 15 * sigma**2
        per_draw["reparameterisation"] = 4 * sigma**2
    theory = {name: per_draw[name] / sizes.astype(float) for name in ESTIMATORS}
    return GradientEstimators(sizes, exact, mean, variance, theory, n_repeats)
