"""Deep ensembles: members that differ only by seed, and their uncertainty split."""

import contextlib
import inspect
import os
import warnings

import numpy as np
from joblib import delayed
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from .._runtime.threads import parallel_fits
from ..kernels.codes import STREAMS
from ..random import SOURCES, derive_key, splitmix64
from ..uncertainty import decompose_classification, decompose_multilabel, decompose_regression
from ._checkpoint import kept_when_finished, member_path
from ._params import check_checkpoint, padding_is_nan
from .mlp import MLPClassifier, MLPRegressor


def member_seeds(random_state, n_estimators, bits=63):
    """One independent ``bits``-bit seed per member from the ``"ensemble"`` stream."""
    key = int(derive_key(random_state))
    base = STREAMS["ensemble"] << 32
    return [splitmix64(key ^ (base | i)) >> (64 - bits) for i in range(n_estimators)]


def _seed_bits(estimator):
    """stochnet's estimators hash any integer seed; scikit-learn's (and most others')
    take ``random_state`` in ``[0, 2**32 - 1]``."""
    return 63 if type(estimator).__module__.startswith("stochnet.") else 32


def _fit_member(estimator, X, y, sample_weight, keep_checkpoint):
    """Fit one member; with ``keep_checkpoint`` its checkpoint outlives the fit, marked
    finished, until the whole ensemble has finished."""
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    if "interrupt" in inspect.signature(estimator.fit).parameters:
        kwargs["interrupt"] = "raise"  # Ctrl-C stops the ensemble, not one member
    with kept_when_finished() if keep_checkpoint else contextlib.nullcontext():
        return estimator.fit(X, y, **kwargs)


def _finiteness(estimator):
    """scikit-learn's ``ensure_all_finite`` for ``estimator``'s input: members that mark
    padding by NaN (``padding_value=nan``) take NaN in X, and validate it themselves."""
    pad = estimator.get_params().get("padding_value") if hasattr(estimator, "get_params") else None
    return "allow-nan" if padding_is_nan(pad) else True


def _standard_deviation(centred, weights):
    """Weighted standard deviation per column of centred values, without overflow for
    values near the float64 range (1e200 squared is infinite)."""
    spread = np.max(np.abs(centred), axis=0)
    unit = np.where(spread > 0, spread, 1.0)
    return spread * np.sqrt(np.average((centred / unit) ** 2, axis=0, weights=weights))


def _check_vary(vary):
    """``vary`` as a tuple of source names (``None``: every source)."""
    if vary is None:
        return SOURCES
    names = (vary,) if isinstance(vary, str) else vary
    try:
        names = tuple(names)
    except TypeError:
        names = ()
    if not names or not all(isinstance(n, str) and n in SOURCES for n in names):
        raise ValueError(
            f"The 'vary' parameter must be None or source names among {', '.join(SOURCES)}. "
            f"Got {vary!r} instead."
        )
    return names


def member_random_states(random_state, n_estimators, vary, bits):
    """Each member's ``random_state``: an own seed for every source in ``vary`` and one
    seed shared by all members for the others (a plain seed when ``vary`` is every
    source)."""
    seeds = member_seeds(random_state, n_estimators + 1, bits)
    if set(vary) == set(SOURCES):
        return seeds[:n_estimators]
    shared = seeds[n_estimators]
    return [{"default": shared, **dict.fromkeys(vary, seed)} for seed in seeds[:n_estimators]]


class _BaseEnsemble(BaseEstimator):
    def __init__(
        self,
        estimator=None,
        n_estimators=5,
        n_jobs=None,
        random_state=None,
        checkpoint=None,
        vary=None,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.checkpoint = checkpoint
        self.vary = vary

    def _default_estimator(self):
        raise NotImplementedError

    def fit(self, X, y, sample_weight=None, interrupt="warn"):
        """Fit ``n_estimators`` clones of ``estimator`` with independent seeds.

        Members run through joblib: ``n_jobs`` fits them side by side on threads that
        share the CPUs (``joblib.parallel_backend("loky")`` for processes), and
        ``with joblib.parallel_backend("dask"): ens.fit(X, y)`` runs them on a Dask
        cluster; the members are the same either way.

        Parameters
        ----------
        X, y, sample_weight
            As for the members.
        interrupt : {"warn", "raise"}, default="warn"
            On Ctrl-C the ensemble keeps the members that finished (fewer than
            ``n_estimators``) and warns, or re-raises with ``"raise"``; with no finished
            member, the ``KeyboardInterrupt`` propagates and an earlier fit is kept.

        Returns
        -------
        self
        """
        if (
            not isinstance(self.n_estimators, int | np.integer)
            or isinstance(self.n_estimators, bool)
            or self.n_estimators < 1
        ):
            raise ValueError(
                f"The 'n_estimators' parameter must be an int >= 1. Got {self.n_estimators!r}."
            )
        base = self._default_estimator() if self.estimator is None else self.estimator
        if "random_state" not in base.get_params():
            raise ValueError("estimator must have a random_state parameter.")
        validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=None,
            ensure_all_finite=_finiteness(base),
            allow_nd=True,
        )
        members = self._seeded_clones(base)
        member_paths = self._member_checkpoints(base, members)
        if interrupt not in ("warn", "raise"):
            raise ValueError(f"interrupt must be 'warn' or 'raise', got {interrupt!r}.")
        finished = []
        try:
            with parallel_fits(self.n_jobs) as parallel:
                for fitted in parallel(
                    delayed(_fit_member)(member, X, y, sample_weight, bool(member_paths))
                    for member in members
                ):
                    finished.append(fitted)
        except KeyboardInterrupt:
            if not finished:
                raise
            self.estimators_ = finished
            warnings.warn(
                f"Training interrupted after {len(finished)} of {self.n_estimators} "
                "members; the ensemble keeps the finished ones.",
                UserWarning,
                stacklevel=2,
            )
            if interrupt == "raise":
                raise
            return self
        self.estimators_ = finished
        for path in member_paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return self

    def _seeded_clones(self, base):
        """Unfitted clones of ``base`` seeded as ``random_state`` and ``vary`` say."""
        vary = _check_vary(self.vary)
        bits = _seed_bits(base)
        if bits != 63 and set(vary) != set(SOURCES):
            raise ValueError(
                f"vary={self.vary!r} needs members that take per-source seeds (stochnet's "
                f"estimators); {type(base).__name__} takes one seed for everything."
            )
        return [
            clone(base).set_params(random_state=seed)
            for seed in member_random_states(self.random_state, self.n_estimators, vary, bits)
        ]

    def _member_checkpoints(self, base, members):
        """With ``checkpoint`` set, give each member its own checkpoint file, kept when
        the member finishes (a resumed ensemble skips it) until the whole ensemble has."""
        root = check_checkpoint(self.checkpoint, solver=None)
        if root is None:
            return []
        if "checkpoint" not in base.get_params():
            raise ValueError(
                f"checkpoint needs members with a checkpoint parameter; "
                f"{type(base).__name__} has none."
            )
        paths = [member_path(root, i) for i in range(len(members))]
        for member, path in zip(members, paths, strict=True):
            member.set_params(checkpoint=path)
        return paths

    def _check_X(self, X):
        check_is_fitted(self, "estimators_")
        validate_data(
            self,
            X,
            reset=False,
            accept_sparse=["csr", "csc"],
            dtype=None,
            allow_nd=True,
            ensure_all_finite=_finiteness(self.estimators_[0]),
        )

    def _stack(self, method, X):
        self._check_X(X)
        return np.stack([getattr(m, method)(X) for m in self.estimators_])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class EnsembleClassifier(ClassifierMixin, _BaseEnsemble):
    """Deep ensemble of classifiers (Lakshminarayanan et al. 2017).

    Parameters
    ----------
    estimator : classifier with ``random_state`` and ``predict_proba``, default=None
        ``None`` means ``MLPClassifier()``. Members are clones that differ only by seed.
    n_estimators : int, default=5
    n_jobs : int, default=None
        Members fitted side by side (threads sharing the CPUs, unless a joblib
        backend says otherwise).
    random_state : None, int or numpy generator, default=None
        Seeds the members through the ``"ensemble"`` Philox stream.
    vary : None, str or tuple of str, default=None
        The sources of randomness in which the members differ (names in
        :data:`stochnet.random.SOURCES`); the others are seeded alike in every member.
        ``None`` varies every source. ``vary=("init",)`` gives members that differ only
        in their initial weights (same batch order, dropout masks, ...): the part of
        the ensembling gain that the initialisation brings.
    checkpoint : str, os.PathLike or None, default=None
        Resume a killed fit: member ``i`` checkpoints to ``<root>.member<i><ext>``
        (see the members' ``checkpoint``); a finished member's file stays until the
        whole ensemble has finished, so a resumed fit skips the members already done.

    Attributes
    ----------
    estimators_ : list of fitted members
    classes_ : ndarray

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import stochnet as sn
    >>> X, y = load_iris(return_X_y=True)
    >>> ens = sn.EnsembleClassifier(sn.MLPClassifier((16,), max_iter=300), n_estimators=3,
    ...                             random_state=0).fit(X, y)
    >>> ens.predict_uncertainty(X[:2]).total.shape
    (2,)
    """

    def _default_estimator(self):
        return MLPClassifier()

    @property
    def classes_(self):
        check_is_fitted(self, "estimators_")
        return self.estimators_[0].classes_

    def fit(self, X, y, sample_weight=None, interrupt="warn"):
        self._multilabel = type_of_target(y).startswith("multilabel")
        return super().fit(X, y, sample_weight, interrupt)

    fit.__doc__ = _BaseEnsemble.fit.__doc__

    def predict_proba(self, X):
        """Mean of the members' class probabilities (for multilabel ``y``: of each
        label's probability, shape (n_samples, n_labels))."""
        return self._stack("predict_proba", X).mean(axis=0)

    def predict(self, X):
        """The class of highest mean probability; for multilabel ``y``, the labels whose
        mean probability exceeds 0.5 (an indicator matrix)."""
        p = self.predict_proba(X)
        if getattr(self, "_multilabel", False):  # absent from files of older versions
            return (p > 0.5).astype(np.int64)
        return self.classes_[p.argmax(axis=1)]

    def predict_uncertainty(self, X, return_samples=False):
        """Predictive entropy = expected entropy (aleatoric) + mutual information
        (epistemic), over the members; per label (a Bernoulli variable each) for
        multilabel ``y``.

        Returns
        -------
        UncertaintyResult
        """
        multilabel = getattr(self, "_multilabel", False)
        decompose = decompose_multilabel if multilabel else decompose_classification
        return decompose(self._stack("predict_proba", X), return_samples)


class EnsembleRegressor(RegressorMixin, _BaseEnsemble):
    """Deep ensemble of regressors: mean, aleatoric and epistemic variance.

    Parameters
    ----------
    estimator : regressor with ``random_state``, default=None
        ``None`` means ``MLPRegressor(loss="gaussian_nll")``, whose members predict a
        mean and a variance each. Members without a variance head contribute no
        aleatoric part.
    n_estimators, n_jobs, random_state, checkpoint, vary
        As in :class:`EnsembleClassifier`.

    Notes
    -----
    The members learn standardised targets (each output shifted by its mean and divided
    by its standard deviation, as a Gaussian likelihood needs targets of order one);
    means, standard deviations and uncertainties come back in the units of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> import stochnet as sn
    >>> X = np.linspace(-2, 2, 100).reshape(-1, 1)
    >>> ens = sn.EnsembleRegressor(n_estimators=2, random_state=0).fit(X, X.ravel() ** 2)
    >>> mean, std = ens.predict(X, return_std=True)
    >>> mean.shape, std.shape
    ((100,), (100,))
    """

    def _default_estimator(self):
        return MLPRegressor(loss="gaussian_nll")

    def fit(self, X, y, sample_weight=None, interrupt="warn"):
        base = self._default_estimator() if self.estimator is None else self.estimator
        _, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=None,
            allow_nd=True,
            ensure_all_finite=_finiteness(base),
        )
        y = np.asarray(y, dtype=np.float64)
        # Weighted, so that a weight of 2 equals a repeated row.
        weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        if weights is not None and not weights.sum() > 0:
            weights = None  # the members reject such weights with scikit-learn's message
        self._y_mean = np.average(y, axis=0, weights=weights)
        scale = _standard_deviation(y - self._y_mean, weights)
        self._y_scale = np.where(scale > 0, scale, 1.0) if y.ndim > 1 else scale or 1.0
        standardised = (y - self._y_mean) / self._y_scale
        return super().fit(X, standardised, sample_weight, interrupt)

    fit.__doc__ = _BaseEnsemble.fit.__doc__

    def _members(self, X, standardised=False):
        """The members' means and variances (``None`` without variance heads), in the
        units of y or, with ``standardised``, of the standardised targets."""
        self._check_X(X)
        # Files of earlier versions hold members of raw targets.
        shift, scale = getattr(self, "_y_mean", 0.0), getattr(self, "_y_scale", 1.0)
        if standardised:
            shift, scale = 0.0, 1.0
        means, variances = [], []
        for member in self.estimators_:
            if getattr(member, "loss", None) == "gaussian_nll":
                mean, std = member.predict(X, return_std=True)
                means.append(mean * scale + shift)
                variances.append((std * scale) ** 2)
            else:
                means.append(member.predict(X) * scale + shift)
        return np.stack(means), (np.stack(variances) if len(variances) == len(means) else None)

    def predict(self, X, return_std=False):
        """Mean prediction; with ``return_std=True`` also the total predictive std
        (aleatoric + epistemic variance)."""
        # Combined in standardised units: targets near 1e200 keep finite variances.
        result = decompose_regression(*self._members(X, standardised=True))
        shift, scale = getattr(self, "_y_mean", 0.0), getattr(self, "_y_scale", 1.0)
        mean = result.mean * scale + shift
        return (mean, np.sqrt(result.total) * scale) if return_std else mean

    def predict_uncertainty(self, X, return_samples=False):
        """Law of total variance over the members.

        Returns
        -------
        UncertaintyResult
        """
        means, variances = self._members(X)
        return decompose_regression(means, variances, return_samples)
