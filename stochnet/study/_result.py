"""What a study returns: its runs, the variance components, and for classifiers the
correctness matrix; with ``summary()`` and ``plot()``."""

import dataclasses

import numpy as np

from .._plotting import new_axes, pyplot
from ._runs import Run, fit_run


@dataclasses.dataclass
class SeedStudy:
    """The result of :func:`~stochnet.study.seed_variance`.

    Attributes
    ----------
    runs : pandas.DataFrame
        One row per fit: ``source`` (what the row varies), one column per source with
        its seed (``<NA>`` for a data-level source not applied), ``score`` and
        ``fit_time`` (seconds).
    components : pandas.DataFrame
        One row per source varied (one-at-a-time design: the spread when only this
        source changes; ``"all"``: every listed source together), or per factor and
        interaction (crossed design), and ``"refit"``: the spread of refits with
        equal seeds, exactly 0. Columns ``n``, ``mean``, ``sd``, ``sd_low``,
        ``sd_high``, ``var``, ``var_low``, ``var_high`` (95 % intervals: chi-square
        under normality for a source's runs; percentile bootstrap over the levels of
        each factor for a crossed design, see ``method``); for classifiers also
        Jordan's ``var_test`` and ``var_distribution`` and the mean pairwise
        ``disagreement`` of the predictions.
    correct : ndarray of bool, shape (runs, n_test), or None
        Whether each run predicts each test row right (classifiers).
    predictions : ndarray, shape (runs, n_test, ...)
    refits : pandas.DataFrame
        The runs fitted twice: ``row`` (its index in ``runs``), ``score``, ``refit``,
        ``difference``.
    design : str
    """

    runs: object
    components: object
    correct: np.ndarray | None
    predictions: np.ndarray
    refits: object
    design: str
    _estimator: object = dataclasses.field(repr=False)
    _data: tuple = dataclasses.field(repr=False)
    _scorer: object = dataclasses.field(repr=False)
    _runs: list = dataclasses.field(repr=False)

    def random_state(self, row):
        """The ``random_state`` mapping of run ``row`` (its training seeds)."""
        return self._runs[row].random_state

    def run(self, row):
        """Run ``row`` as a :class:`~stochnet.study.Run` (seeds and data-level seeds)."""
        return self._runs[row]

    def refit(self, row):
        """Fit run ``row`` again from its seeds alone; returns its score (equal to the
        one in :attr:`runs`, to the bit)."""
        return fit_run(self._estimator, self._runs[row], *self._data, self._scorer)[0]

    def summary(self):
        """The components as text."""
        lines = [f"Seed study ({self.design} design, {len(self.runs)} fits)"]
        header = f"{'source':<14}{'n':>5}{'mean':>10}{'sd':>10}   95 % interval of the sd"
        lines += [header, "-" * len(header)]
        for row in self.components.itertuples():
            lines.append(
                f"{row.source:<14}{row.n:>5}{row.mean:>10.5f}{row.sd:>10.5f}   "
                f"[{row.sd_low:.5f}, {row.sd_high:.5f}]"
            )
        if self.correct is not None:
            lines.append("")
            lines.append(
                f"{'source':<14}{'var(acc)':>12}{'test-set':>12}{'distribution':>14}"
                f"{'disagreement':>14}"
            )
            for row in self.components.itertuples():
                if np.isnan(row.var_test):
                    continue
                lines.append(
                    f"{row.source:<14}{row.var:>12.3g}{row.var_test:>12.3g}"
                    f"{row.var_distribution:>14.3g}{row.disagreement:>14.4f}"
                )
        largest = float(self.refits["difference"].abs().max()) if len(self.refits) else 0.0
        lines.append("")
        lines.append(
            f"refits with equal seeds: {len(self.refits)}, largest score difference {largest!r}"
        )
        return "\n".join(lines)

    def plot(self, ax=None):
        """SD of the score per source with its interval (left), and the scores of each
        source's runs (right). Needs matplotlib; returns the axes."""
        components = self.components[self.components["source"] != "refit"]
        if ax is None:
            _, ax = pyplot().subplots(1, 2, figsize=(9, 3.5), layout="constrained")
        left, right = (ax[0], ax[1]) if np.ndim(ax) else (new_axes(ax), None)
        y = np.arange(len(components))
        sd = components["sd"].to_numpy()
        errors = [sd - components["sd_low"].to_numpy(), components["sd_high"].to_numpy() - sd]
        left.errorbar(sd, y, xerr=errors, fmt="o", color="C0", capsize=3)
        left.set_yticks(y, components["source"])
        left.invert_yaxis()
        left.set_xlabel("SD of the score (95 % interval)")
        if right is not None:
            for i, source in enumerate(components["source"]):
                scores = self.runs.loc[self.runs["source"] == source, "score"].to_numpy()
                jitter = (np.arange(len(scores)) % 7 - 3) * 0.04
                right.plot(scores, i + jitter, ".", color="C1", alpha=0.7)
            right.set_yticks(y, components["source"])
            right.invert_yaxis()
            right.set_xlabel("score")
        return ax


@dataclasses.dataclass
class Comparison:
    """The result of :func:`~stochnet.study.compare`.

    Attributes
    ----------
    runs : pandas.DataFrame
        One row per pair: ``seed``, ``score_a``, ``score_b``.
    p_better : float
        P(A > B) over the pairs, ties counted ½.
    p_interval : (float, float)
        Its percentile-bootstrap interval over the pairs.
    mean_difference : float
        Mean of ``score_a - score_b``.
    difference_interval : (float, float)
    verdict : {"A", "B"} or None
        Which configuration is better by Bouthillier et al.'s rule (the interval of
        P(A > B) above 0.5 and reaching past ``gamma``), or ``None``: no verdict.
    gamma : float
    """

    runs: object
    p_better: float
    p_interval: tuple
    mean_difference: float
    difference_interval: tuple
    verdict: str | None
    gamma: float

    def summary(self):
        lo, hi = self.p_interval
        dlo, dhi = self.difference_interval
        verdict = {
            "A": "A is better",
            "B": "B is better",
            None: "no verdict (the seeds could explain the difference)",
        }[self.verdict]
        return (
            f"{len(self.runs)} paired runs: P(A > B) = {self.p_better:.3f} "
            f"[{lo:.3f}, {hi:.3f}], mean difference {self.mean_difference:+.5f} "
            f"[{dlo:+.5f}, {dhi:+.5f}]; gamma = {self.gamma}: {verdict}."
        )

    def plot(self, ax=None):
        """Paired scores, B against A, with the diagonal. Needs matplotlib."""
        ax = new_axes(ax, figsize=(4.5, 4.5))
        a, b = self.runs["score_a"].to_numpy(), self.runs["score_b"].to_numpy()
        low, high = min(a.min(), b.min()), max(a.max(), b.max())
        ax.plot([low, high], [low, high], color="0.6", lw=1, ls="--")
        ax.plot(a, b, "o", color="C0", alpha=0.7)
        ax.set_xlabel("score of A")
        ax.set_ylabel("score of B")
        ax.set_title(f"P(A > B) = {self.p_better:.2f}")
        return ax


__all__ = ["Comparison", "Run", "SeedStudy"]
