"""The statistics of seed studies (``shared/STUDIES.md``): intervals for a standard
deviation, the two-way random-effects ANOVA of a crossed design, Jordan's split of the
variance of accuracy, prediction disagreement, and the paired comparison of two
configurations (Bouthillier et al. 2021). Plain NumPy and SciPy, no fitting."""

import numpy as np
import scipy.stats


def _variance(values):
    """Unbiased variance, exactly 0 for equal values (shifted by the first: the mean of
    equal values is not always that value in floating point)."""
    return float((values - values[0]).var(ddof=1))


def sd_interval(scores, confidence=0.95):
    """Sample SD and variance of ``scores`` with their chi-square intervals.

    Under normality ``(k-1) s² / σ²`` is χ²(k-1), so the variance lies in
    ``[(k-1) s² / χ²_{1-α/2}, (k-1) s² / χ²_{α/2}]`` with probability ``confidence``;
    the SD interval is its square root.

    Returns
    -------
    dict
        ``n``, ``mean``, ``sd``, ``sd_low``, ``sd_high``, ``var``, ``var_low``,
        ``var_high``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    k = scores.shape[0]
    var = _variance(scores)
    alpha = 1.0 - confidence
    low, high = ((k - 1) * var / scipy.stats.chi2.ppf(q, k - 1) for q in (1 - alpha / 2, alpha / 2))
    return {
        "n": k,
        "mean": float(scores.mean()),
        "sd": float(np.sqrt(var)),
        "sd_low": float(np.sqrt(low)),
        "sd_high": float(np.sqrt(high)),
        "var": var,
        "var_low": float(low),
        "var_high": float(high),
    }


def anova_two_way(table):
    """Method-of-moments variance components of an ``a × b`` table with one run per
    cell (two crossed random factors; the residual is their interaction).

    Returns
    -------
    dict
        ``ms_a``, ``ms_b``, ``ms_ab`` (mean squares) and the components ``var_a``,
        ``var_b`` (truncated at 0, with ``truncated_a``/``truncated_b`` saying so) and
        ``var_ab``.
    """
    y = np.asarray(table, dtype=np.float64)
    a, b = y.shape
    grand = y.mean()
    rows, cols = y.mean(axis=1), y.mean(axis=0)
    ms_a = b * np.sum((rows - grand) ** 2) / (a - 1)
    ms_b = a * np.sum((cols - grand) ** 2) / (b - 1)
    residual = y - rows[:, None] - cols[None, :] + grand
    ms_ab = np.sum(residual**2) / ((a - 1) * (b - 1))
    var_a, var_b = (ms_a - ms_ab) / b, (ms_b - ms_ab) / a
    return {
        "ms_a": float(ms_a),
        "ms_b": float(ms_b),
        "ms_ab": float(ms_ab),
        "var_a": float(max(var_a, 0.0)),
        "var_b": float(max(var_b, 0.0)),
        "var_ab": float(ms_ab),
        "truncated_a": bool(var_a < 0),
        "truncated_b": bool(var_b < 0),
    }


def anova_intervals(table, confidence=0.95, n_bootstrap=2000, seed=0):
    """Percentile-bootstrap intervals of :func:`anova_two_way`'s components, resampling
    the levels of each factor (rows and columns, independently, with replacement), not
    single runs.

    Returns
    -------
    dict
        ``(low, high)`` for ``var_a``, ``var_b`` and ``var_ab``.
    """
    y = np.asarray(table, dtype=np.float64)
    a, b = y.shape
    rng = np.random.default_rng(seed)
    draws = np.empty((n_bootstrap, 3))
    for i in range(n_bootstrap):
        rows, cols = rng.integers(0, a, a), rng.integers(0, b, b)
        c = anova_two_way(y[np.ix_(rows, cols)])
        draws[i] = c["var_a"], c["var_b"], c["var_ab"]
    alpha = 1.0 - confidence
    low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
    return {
        name: (float(lo), float(hi))
        for name, lo, hi in zip(("var_a", "var_b", "var_ab"), low, high, strict=True)
    }


def jordan_split(correct):
    """Jordan (ICLR 2024): the variance of accuracy across runs split into test-set
    sampling and the distribution-level part.

    Parameters
    ----------
    correct : bool array of shape (runs, n_test)

    Returns
    -------
    dict
        ``var_accuracy`` (unbiased, over runs), ``var_test`` = (1/n²) Σ ε_i(1 − ε_i)
        with ε_i row i's error rate across runs, and ``var_distribution`` = n/(n−1) ·
        (var_accuracy − var_test), which can come out negative on few runs (reported
        as it is).
    """
    c = np.asarray(correct, dtype=np.float64)
    n = c.shape[1]
    accuracy = c.mean(axis=1)
    error = 1.0 - c.mean(axis=0)
    var_accuracy = _variance(accuracy)
    var_test = float(np.sum(error * (1.0 - error)) / n**2)
    return {
        "var_accuracy": var_accuracy,
        "var_test": var_test,
        "var_distribution": float(n / (n - 1) * (var_accuracy - var_test)),
    }


def mean_disagreement(predictions):
    """Mean over pairs of runs of the fraction of test rows whose predictions differ.

    Parameters
    ----------
    predictions : array of shape (runs, n_test) (or (runs, n_test, n_labels))
    """
    p = np.asarray(predictions)
    runs, n = p.shape[:2]
    if runs < 2:
        return np.nan
    # Each test row's prediction as one opaque value (a row of labels as its bytes),
    # sorted over the runs: equal predictions form groups, a group of g agrees in
    # g(g-1)/2 pairs, the sum of each value's place within its group.
    p = np.ascontiguousarray(p.reshape(runs, n, -1))
    values = p.view(np.dtype((np.void, p.dtype.itemsize * p.shape[2])))[..., 0]
    ordered = np.sort(values, axis=0)
    place = np.arange(runs)[:, None]
    starts = np.ones((runs, n), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    group_start = np.maximum.accumulate(np.where(starts, place, 0), axis=0)
    agreeing = int((place - group_start).sum())
    return 1.0 - agreeing / (runs * (runs - 1) // 2 * n)


def paired_comparison(a, b, confidence=0.95, gamma=0.75, n_bootstrap=10000, seed=0):
    """P(A > B) over paired scores (ties count ½) and the mean difference, each with a
    percentile-bootstrap interval over the pairs, and Bouthillier et al.'s verdict: A
    is better when the interval of P(A > B) lies above 0.5 and reaches past ``gamma``
    (B better in the mirror case), else no verdict.

    Returns
    -------
    dict
        ``p_better``, ``p_low``, ``p_high``, ``mean_difference``, ``difference_low``,
        ``difference_high``, ``verdict`` (``"A"``, ``"B"`` or ``None``).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    wins = (a > b) + 0.5 * (a == b)
    diff = a - b
    k = a.shape[0]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, k, (n_bootstrap, k))
    alpha = 1.0 - confidence
    quantiles = [alpha / 2, 1 - alpha / 2]
    p_low, p_high = np.quantile(wins[picks].mean(axis=1), quantiles)
    d_low, d_high = np.quantile(diff[picks].mean(axis=1), quantiles)
    verdict = None
    if p_low > 0.5 and p_high > gamma:
        verdict = "A"
    elif p_high < 0.5 and p_low < 1.0 - gamma:
        verdict = "B"
    return {
        "p_better": float(wins.mean()),
        "p_low": float(p_low),
        "p_high": float(p_high),
        "mean_difference": float(diff.mean()),
        "difference_low": float(d_low),
        "difference_high": float(d_high),
        "verdict": verdict,
    }
