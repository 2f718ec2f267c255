"""How much of a score is luck: seed-variance studies and paired comparisons.

Every source of randomness of a stochnet fit is its own Philox stream, seedable alone
(``random_state={"default": 0, "dropout": 3}``), and equal seeds give equal bits. A
study fits the same estimator under chosen seeds and splits the spread of its test
score by source (``shared/STUDIES.md`` has the statistics):

* **one at a time** — every source at a base seed, one source varied over ``n_seeds``
  seeds: the spread when only this source changes (its main effect and its
  interactions with the fixed others); ``"all"`` varies every listed source together;
* **crossed** — two sources, every pair of seeds: a two-way random-effects ANOVA;
* **data-level sources** — ``"train_sample"`` (a seeded bootstrap of the training
  rows) and ``"perturbation"`` (one initial weight changed by one ulp);
* **refits** with equal seeds, whose scores differ by exactly 0: no numerical noise is
  mixed into the components.

The tables are pandas DataFrames: ``pip install 'stochnet[study]'`` (or pandas).
"""

import numbers

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring, get_scorer

from ..random import SOURCES
from . import _stats
from ._result import Comparison, SeedStudy
from ._runs import (
    DATA_SOURCES,
    STUDY_SOURCES,
    OwnScore,
    Run,
    drawn_sources,
    execute,
    make_run,
)

__all__ = ["Comparison", "Run", "SeedStudy", "compare", "drawn_sources", "seed_variance"]

DESIGNS = ("one_at_a_time", "crossed")


def _pandas():
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "seed studies return pandas tables: pip install 'stochnet[study]' (or pandas)."
        ) from None
    return pandas


def _check_estimator(estimator):
    from ..estimators._network import NetworkEstimator

    if not isinstance(estimator, NetworkEstimator):
        raise TypeError(
            "estimator must be a stochnet network estimator (MLPClassifier, MLPRegressor, "
            f"AttentionClassifier, AttentionRegressor), got {type(estimator).__name__}."
        )


def _check_sources(estimator, sources, design):
    drawn = drawn_sources(estimator)
    if sources is None:
        if design == "crossed":
            raise ValueError(
                "design='crossed' needs two sources, e.g. sources=('init', 'shuffle')."
            )
        return drawn
    sources = (sources,) if isinstance(sources, str) else tuple(sources)
    for source in sources:
        if source not in STUDY_SOURCES:
            raise ValueError(
                f"Unknown source {source!r}; the sources are {', '.join(STUDY_SOURCES)}."
            )
        if source not in drawn:
            raise ValueError(
                f"{type(estimator).__name__} as configured never draws from {source!r} "
                "(e.g. 'dropout' with dropout=0): its spread would be a false zero. The "
                f"sources it draws from are {', '.join(drawn)}."
            )
    if len(set(sources)) != len(sources) or not sources:
        raise ValueError(f"sources must name each source once, got {sources!r}.")
    if design == "crossed" and len(sources) != 2:
        raise ValueError(f"design='crossed' crosses two sources, got {len(sources)}.")
    return sources


def _check_n_seeds(n_seeds, name="n_seeds"):
    if not isinstance(n_seeds, numbers.Integral) or isinstance(n_seeds, bool) or n_seeds < 2:
        raise ValueError(f"{name} must be an int >= 2 (a spread needs two runs), got {n_seeds!r}.")
    return int(n_seeds)


def _scorer(estimator, scoring):
    """A scorer that fits the task: scikit-learn's, refusing a regression metric for a
    classifier and the converse."""
    if scoring is None:
        return OwnScore(is_classifier(estimator))
    scorer = get_scorer(scoring) if isinstance(scoring, str) else check_scoring(estimator, scoring)
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "")
    classifier = is_classifier(estimator)
    if (classifier and module.endswith("_regression")) or (
        not classifier and module.endswith(("_classification", "_ranking"))
    ):
        task = "classifier" if classifier else "regressor"
        raise ValueError(f"scoring={scoring!r} does not fit a {task}.")
    return scorer


def _design_runs(sources, n_seeds, design, base, include_all):
    """The runs of a design: the varied sources take seeds ``base + 1 + j``."""
    seeds = [base + 1 + j for j in range(n_seeds)]
    if design == "crossed":
        a, b = sources
        return [make_run(f"{a}×{b}", {a: i, b: j}, base) for i in seeds for j in seeds]
    runs = [make_run(source, {source: seed}, base) for source in sources for seed in seeds]
    if include_all and len(sources) > 1:
        runs += [make_run("all", dict.fromkeys(sources, seed), base) for seed in seeds]
    return runs


def _runs_table(runs, results):
    pandas = _pandas()
    rows = []
    for spec, (score, fit_time, _) in zip(runs, results, strict=True):
        row = {"source": spec.source, **dict(spec.seeds)}
        row["train_sample"] = spec.train_sample
        row["perturbation"] = spec.perturbation
        row.update(score=score, fit_time=fit_time)
        rows.append(row)
    table = pandas.DataFrame(rows)
    for column in (*SOURCES, *DATA_SOURCES):
        table[column] = table[column].astype("Int64")
    return table


def _classifier_columns(block_correct, block_predictions):
    if block_correct is None:
        return {"var_test": np.nan, "var_distribution": np.nan, "disagreement": np.nan}
    split = _stats.jordan_split(block_correct)
    return {
        "var_test": split["var_test"],
        "var_distribution": split["var_distribution"],
        "disagreement": _stats.mean_disagreement(block_predictions),
    }


def _components(table, correct, predictions, design, sources, n_seeds, refits, confidence):
    pandas = _pandas()
    rows = []
    scores = table["score"].to_numpy()
    if design == "crossed":
        a, b = sources
        grid = scores.reshape(n_seeds, n_seeds)
        anova = _stats.anova_two_way(grid)
        intervals = _stats.anova_intervals(grid, confidence)
        names = {"var_a": a, "var_b": b, "var_ab": f"{a}×{b}"}
        for key, label in names.items():
            var, (low, high) = anova[key], intervals[key]
            rows.append(
                {
                    "source": label,
                    "n": len(scores),
                    "mean": float(scores.mean()),
                    "sd": np.sqrt(var),
                    "sd_low": np.sqrt(low),
                    "sd_high": np.sqrt(high),
                    "var": var,
                    "var_low": low,
                    "var_high": high,
                    "method": "ANOVA, bootstrap over levels"
                    + (" (truncated at 0)" if anova.get(f"truncated_{key[-1]}") else ""),
                    **_classifier_columns(None, None),
                }
            )
        total = {
            "source": "total",
            **_stats.sd_interval(scores, confidence),
            "method": "chi-square",
            **_classifier_columns(correct, predictions),
        }
        rows.append(total)
    else:
        for label in dict.fromkeys(table["source"]):
            mask = (table["source"] == label).to_numpy()
            rows.append(
                {
                    "source": label,
                    **_stats.sd_interval(scores[mask], confidence),
                    "method": "chi-square",
                    **_classifier_columns(
                        None if correct is None else correct[mask], predictions[mask]
                    ),
                }
            )
    differences = refits["difference"].to_numpy() if len(refits) else np.zeros(2)
    residual = _stats.sd_interval(differences, confidence) if len(differences) > 1 else None
    if residual is not None:
        rows.append(
            {
                "source": "refit",
                **residual,
                "method": "equal seeds",
                **_classifier_columns(None, None),
            }
        )
    return pandas.DataFrame(rows)


def seed_variance(
    estimator,
    X_train,
    y_train,
    X_test,
    y_test,
    sources=None,
    n_seeds=10,
    design="one_at_a_time",
    scoring=None,
    n_jobs=None,
    memory=None,
    verbose=0,
    random_state=0,
    include_all=True,
    n_refits=2,
    confidence=0.95,
):
    """How much of ``estimator``'s test score is seed luck, and from which source.

    Parameters
    ----------
    estimator : unfitted stochnet network estimator
    X_train, y_train, X_test, y_test : arrays
    sources : str or sequence of str, default=None
        Sources to vary: names in :data:`stochnet.random.SOURCES` and the data-level
        ``"train_sample"`` (a seeded bootstrap of the training rows) and
        ``"perturbation"`` (one initial weight changed by one ulp). ``None``: every
        source the estimator draws from (:func:`drawn_sources`). A source it never
        draws from is an error, not a zero.
    n_seeds : int >= 2, default=10
        Seeds per source (per factor in a crossed design: ``n_seeds²`` runs).
    design : {"one_at_a_time", "crossed"}, default="one_at_a_time"
    scoring : str, callable or None, default=None
        scikit-learn scoring; ``None`` is the estimator's ``score`` (accuracy, R²).
    n_jobs : int or None, default=None
        joblib workers for the fits (threads, unless a joblib backend such as Dask is
        active); the results do not depend on it.
    memory : str, path or joblib.Memory, default=None
        Keep each finished fit: a killed or extended study fits only what is missing.
    verbose : int, default=0
        Progress with the rate and an ETA on standard error.
    random_state : int, default=0
        The base seed of every source; varied seeds are ``random_state + 1 + j``.
    include_all : bool, default=True
        One-at-a-time design: also vary every listed source together (``"all"``).
    n_refits : int, default=2
        Runs fitted a second time with the same seeds: the ``"refit"`` component, whose
        spread is exactly 0.
    confidence : float, default=0.95

    Returns
    -------
    SeedStudy

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import stochnet as sn
    >>> X, y = load_iris(return_X_y=True)
    >>> study = sn.study.seed_variance(
    ...     sn.MLPClassifier((8,), max_iter=20), X[::2], y[::2], X[1::2], y[1::2],
    ...     sources=("init", "shuffle"), n_seeds=3)
    >>> study.components["source"].tolist()
    ['init', 'shuffle', 'all', 'refit']
    >>> float(study.components.set_index("source").loc["refit", "sd"])
    0.0
    """
    _check_estimator(estimator)
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {DESIGNS}, got {design!r}.")
    sources = _check_sources(estimator, sources, design)
    n_seeds = _check_n_seeds(n_seeds)
    if (
        not isinstance(random_state, numbers.Integral)
        or isinstance(random_state, bool)
        or random_state < 0
    ):
        raise ValueError(
            f"random_state must be a non-negative int (the base seed), got {random_state!r}."
        )
    scorer = _scorer(estimator, scoring)
    _pandas()
    data = (X_train, np.asarray(y_train), X_test, np.asarray(y_test))
    runs = _design_runs(sources, n_seeds, design, int(random_state), include_all)
    again = list(range(min(int(n_refits), len(runs))))
    results = execute(
        estimator, runs + [runs[i] for i in again], data, scorer, n_jobs, memory, verbose
    )
    results, repeated = results[: len(runs)], results[len(runs) :]
    table = _runs_table(runs, results)
    predictions = np.stack([r[2] for r in results])
    classifier = is_classifier(estimator)
    correct = None
    if classifier:
        truth = data[3]
        correct = (
            predictions == truth if predictions.ndim == 2 else np.all(predictions == truth, axis=2)
        )
    pandas = _pandas()
    refits = pandas.DataFrame(
        {
            "row": again,
            "score": [results[i][0] for i in again],
            "refit": [r[0] for r in repeated],
        }
    )
    refits["difference"] = refits["refit"] - refits["score"]
    components = _components(
        table, correct, predictions, design, sources, n_seeds, refits, confidence
    )
    return SeedStudy(
        table, components, correct, predictions, refits, design, estimator, data, scorer, runs
    )


def compare(
    estimator_a,
    estimator_b,
    X_train,
    y_train,
    X_test,
    y_test,
    n_seeds=29,
    sources=None,
    scoring=None,
    n_jobs=None,
    memory=None,
    verbose=0,
    random_state=0,
    gamma=0.75,
    confidence=0.95,
    n_bootstrap=10000,
):
    """Is A better than B, or could the seeds explain the difference? (Bouthillier et
    al., MLSys 2021.)

    Run ``j`` of A and run ``j`` of B share every seed: the sources in ``sources``
    take seed ``random_state + 1 + j``, the others ``random_state``.

    Parameters
    ----------
    estimator_a, estimator_b : unfitted stochnet network estimators
    n_seeds : int >= 2, default=29
        Pairs (29 detect P(A > B) = 0.75 with α = β = 0.05, Noether's formula).
    sources : sequence of str, default=None
        The sources that differ between pairs (``None``: every training source and the
        bootstrap of the training rows).
    gamma : float in (0.5, 1), default=0.75
        The verdict "A is better" needs the interval of P(A > B) above 0.5 and
        reaching past ``gamma``.
    scoring, n_jobs, memory, verbose, confidence
        As in :func:`seed_variance`.
    n_bootstrap : int, default=10000
        Resamples of the pairs for the percentile intervals.

    Returns
    -------
    Comparison
    """
    for estimator in (estimator_a, estimator_b):
        _check_estimator(estimator)
    if is_classifier(estimator_a) != is_classifier(estimator_b):
        raise ValueError("estimator_a and estimator_b must both be classifiers or regressors.")
    n_seeds = _check_n_seeds(n_seeds)
    if not 0.5 < gamma < 1:
        raise ValueError(f"gamma must be in (0.5, 1), got {gamma!r}.")
    varied = (*SOURCES, "train_sample") if sources is None else tuple(sources)
    for source in varied:
        if source not in STUDY_SOURCES:
            raise ValueError(
                f"Unknown source {source!r}; the sources are {', '.join(STUDY_SOURCES)}."
            )
    scorer_a, scorer_b = _scorer(estimator_a, scoring), _scorer(estimator_b, scoring)
    pandas = _pandas()
    base = int(random_state)
    runs = [make_run("pair", dict.fromkeys(varied, base + 1 + j), base) for j in range(n_seeds)]
    data = (X_train, np.asarray(y_train), X_test, np.asarray(y_test))
    a = execute(estimator_a, runs, data, scorer_a, n_jobs, memory, verbose)
    b = execute(estimator_b, runs, data, scorer_b, n_jobs, memory, verbose)
    scores_a, scores_b = np.array([r[0] for r in a]), np.array([r[0] for r in b])
    result = _stats.paired_comparison(scores_a, scores_b, confidence, gamma, n_bootstrap)
    table = pandas.DataFrame(
        {"seed": [base + 1 + j for j in range(n_seeds)], "score_a": scores_a, "score_b": scores_b}
    )
    return Comparison(
        table,
        result["p_better"],
        (result["p_low"], result["p_high"]),
        result["mean_difference"],
        (result["difference_low"], result["difference_high"]),
        result["verdict"],
        gamma,
    )
