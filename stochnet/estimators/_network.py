"""One network estimator, composed: an input adapter and a target head.

:class:`NetworkEstimator` holds the fit: validation into a parameter record, the
network built on a first pass, continuation checks on a warm start, then L-BFGS or
the engine's epoch loop (:meth:`stochnet.engine.Trainer.fit`) with scikit-learn's
stopping rule (``_epochs``). What differs between the public estimators is held, not
inherited:

- ``_inputs``, an input adapter (module ``_inputs``): how ``X`` reaches the network, and which
  network it builds (MLP rows, attention sequences);
- ``_target``, a target head (module ``_targets``): how ``y`` is encoded, scored and decoded
  (classification, regression).

``MLPClassifier`` is ``RowInput`` × ``ClassificationTarget`` with the MLP's parameters,
``AttentionRegressor`` is ``SequenceInput`` × ``RegressionTarget`` with the encoder's.

Outside the estimators, a fitted network is reached through ``network_`` and inputs
validated against it through ``_network_data``: the diagnostics and the ONNX export
use nothing else (:mod:`stochnet.io`, the serializer, reads and writes the state).
"""

import functools
import sys
import warnings
from collections.abc import Mapping

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .._validation import check_amount, check_option, same_setting
from ..kernels.codes import STREAMS
from ..random import SOURCES, source_keys, splitmix64
from . import _epochs, _pruning
from ._checkpoint import Checkpoint


class NetworkEstimator(BaseEstimator):
    """A network estimator: ``_inputs`` (an input adapter) and ``_target`` (a target
    head) are set by the public classes; see the module."""

    _inputs = None
    _target = None

    @classmethod
    def _get_param_names(cls):
        """scikit-learn's parameter names (from the ``__init__`` signature), read once
        per class: ``clone`` and ``set_params`` read them three times, 0.2 ms of a small
        fit in a seed study or a grid search."""
        return list(_param_names(cls))

    # -------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None, interrupt="warn"):
        """Fit the model to data ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        interrupt : {"warn", "raise"}, default="warn"
            On Ctrl-C (``KeyboardInterrupt``) the model goes back to the end of the last
            complete epoch (its parameters and optimiser state) and stays usable; with
            ``"warn"`` fit then returns with a warning, with ``"raise"`` the
            ``KeyboardInterrupt`` propagates after that.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=False, interrupt=interrupt)

    def _fit(self, X, y, sample_weight, incremental, interrupt="warn"):
        self._interrupt = check_option("interrupt", interrupt, {"warn", "raise"})
        params, X, Y, sample_weight = self._prepare(X, y, sample_weight, incremental)
        checkpoint, completed = None, True
        if not params.stochastic:
            self._fit_lbfgs(X, Y, sample_weight, params)
        elif params.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        else:
            resumed = None
            if params.checkpoint is not None and not incremental:
                data = {"X": X, "y": Y, "sample_weight": sample_weight}
                checkpoint = Checkpoint(params.checkpoint, self, data)
                resumed = checkpoint.resume(self)
                if resumed == "finished":
                    return self
                if resumed:
                    self._network.to(params.device)
            completed = self._fit_stochastic(
                X, Y, sample_weight, params, incremental, checkpoint, resumed is not None
            )
        if params.prune is not None and params.prune_at == "end":
            _pruning.prune_as_asked(self, params)
        if checkpoint is not None and completed:  # an interrupted fit keeps its checkpoint
            checkpoint.finish(self)
        return self

    def _prepare(self, X, y, sample_weight, incremental):
        """Validate everything, build the network on a first pass; returns the parameter
        record and the data as the network trains on it."""
        self._target.check_params(self)
        params = self._inputs.check_params(self)
        first_pass = not hasattr(self, "_network") or (not params.warm_start and not incremental)
        X, Y, layout = self._validated(X, y, params, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        params = self._inputs.complete(self, params, X, layout, first_pass)
        if first_pass:
            self._initialize(X, Y, params)
        else:
            self._continue(Y, params)
        net = self._network.to(params.device)
        X = self._inputs.network_input(self, X, net, params)
        Y = np.ascontiguousarray(Y, dtype=net.dtype)
        if sample_weight is not None:
            sample_weight = sample_weight.astype(net.dtype, copy=False)
        return params, X, Y, sample_weight

    def _validated(self, X, y, params, incremental, reset):
        """``X`` as validated rows, ``y`` encoded in ``X.dtype``, and the input layout
        (``reset``: a first fit, which learns the features and the targets)."""
        X, layout = self._inputs.rows(self, X, params, reset)
        X, y = self._inputs.validate(self, X, y, params, reset, self._target.y_numeric)
        return X, self._target.encode(self, y, X.dtype, params, incremental, reset), layout

    def _initialize(self, X, Y, params):
        """A new network, its seeds, and an empty history."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self._keys = source_keys(params.random_state)
        loss = self._target.engine_loss(self)
        self._network = self._inputs.build(self, X, self._n_outputs_for(Y.shape[1]), loss, params)
        self.masks_ = None
        self.sparsity_ = 0.0
        self._pruned_with = None
        self._init = params.init
        self._trainer = None
        self._publish()
        _epochs.start_history(self, params)
        if params.prune is not None and params.prune_at == "init":
            _pruning.prune_as_asked(self, params)

    def _continue(self, Y, params):
        """A warm start or ``partial_fit`` continues the fitted network: the same
        architecture, today's seeds, pruning and training settings."""
        self._sync_parameters()
        self._own_parameters()
        self._check_architecture(params)
        if self._n_outputs_for(Y.shape[1]) != self._network.n_outputs:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the fitted network has "
                f"{self.n_outputs_}; refit without warm_start."
            )
        self._inputs.continue_training(self, params)
        self._reseed(params)
        _pruning.prune_on_continuation(self, params)
        _epochs.complete_history(self, params)

    def _check_architecture(self, params):
        """A parameter that would build another network is an error, not silently
        ignored. ``init`` built the fitted weights: another one cannot take effect
        either."""
        built_with = getattr(self, "_init", params.init)  # files of earlier versions: unknown
        shaping = [
            *self._inputs.architecture(self, params),
            *self._target.architecture(self),
            ("init", params.init, built_with),
        ]
        for name, asked, fitted in shaping:
            if not same_setting(asked, fitted):
                raise ValueError(
                    f"{name}={asked!r} does not match the fitted network's {fitted!r}: "
                    "warm_start and partial_fit continue the fitted network. Refit with "
                    f"warm_start=False or set {name} back."
                )

    def _reseed(self, params):
        """A warm start seeds the streams of its training (batch order, dropout, noise,
        crops, validation split) from ``random_state``; the initial weights stay. An int
        seed gives the keys the model already has, so a continuation with the same seed
        goes on with the same streams; ``None`` (or a source a mapping leaves to a
        missing ``"default"``) keeps its key: the counters move on."""
        seeds = params.random_state
        if seeds is None:
            return
        keys = source_keys(seeds)
        if isinstance(seeds, Mapping) and "default" not in seeds:
            keys = {s: keys[s] if s in seeds else self._keys[s] for s in keys}
        self._keys = keys
        if self._trainer is not None:
            self._trainer.keys = keys

    def _n_outputs_for(self, n_targets):
        from ..engine.plan import n_outputs_for

        return n_outputs_for(self._target.engine_loss(self), n_targets)

    # --------------------------------------------------------- stochastic
    def _fit_stochastic(
        self, X, Y, sample_weight, params, incremental, checkpoint=None, resumed=False
    ):
        """Epochs of SGD or Adam, continuing a fit ``resumed`` from ``checkpoint``, which
        is written at epoch ends (if not None); returns False when interrupted (Ctrl-C),
        True otherwise."""
        rows, validation = None, None
        if params.early_stopping:
            rows, validation = self._validation_split(X, Y, sample_weight, params)
        n_train = Y.shape[0] if rows is None else rows.shape[0]
        trainer = self._ready_trainer(
            params, self._batch_size(params, n_train), incremental, resumed
        )
        if not resumed:
            self.n_iter_ = 0  # as scikit-learn: counts the epochs of this call
        if self.n_iter_ >= params.max_iter:
            return True
        epoch = _epochs.EpochBookkeeping(self, params, n_train, incremental, checkpoint, validation)
        verbose = params.verbose and params.verbose >= 2
        progress = _epochs.ProgressBar(sys.stdout) if verbose else None
        try:
            outcome = trainer.fit(
                X,
                Y,
                sample_weight,
                rows,
                stopping=epoch.stopping,
                on_epoch=epoch.completed,
                progress=progress,
                rule=epoch.rule,
            )
        except KeyboardInterrupt:
            epoch.interrupted()
            self._interrupted(f"after {self.n_iter_} complete epoch(s)")
            return False
        finally:
            if params.early_stopping:
                self._network.theta[...] = self._best_theta
        if outcome is not None:
            epoch.diverged(outcome.loss)
            warnings.warn(
                f"Training diverged at epoch {self.n_iter_}: the loss became "
                f"{outcome.loss}. The parameters of the last finite epoch were restored. "
                "Likely cause: learning_rate_init too large or unscaled inputs.",
                ConvergenceWarning,
                stacklevel=4,
            )
        elif epoch.reached_max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({params.max_iter}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return True

    def _validation_split(self, X, Y, sample_weight, params):
        """Indices of the training rows, and the validation data ``(X, Y, sw)`` (a copy
        of ``validation_fraction`` of the rows)."""
        rows = np.arange(Y.shape[0], dtype=np.int64)
        seed = splitmix64(int(self._keys["validation"]) ^ STREAMS["validation"]) & 0xFFFFFFFF
        train, val = train_test_split(
            rows,
            random_state=seed,
            test_size=params.validation_fraction,
            stratify=self._target.stratify(Y),
        )
        if val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        sw_val = None if sample_weight is None else sample_weight[val]
        return np.sort(train), (self._inputs.take_rows(X, val), Y[val], sw_val)

    @staticmethod
    def _batch_size(params, n_train):
        """scikit-learn's batch size: ``min(200, n)`` for ``"auto"``, else clipped to
        ``[1, n]`` with its warning."""
        if params.batch_size == "auto":
            return min(200, n_train)
        if params.batch_size > n_train:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going "
                "to be clipped",
                stacklevel=5,
            )
        return int(np.clip(params.batch_size, 1, n_train))

    def _ready_trainer(self, params, batch_size, incremental, resumed):
        """The trainer of this fit: new on a first fit, a fresh optimiser on a warm start
        (as scikit-learn's), today's optimiser settings on a ``partial_fit``, as it was
        for a fit resumed from a checkpoint; configured with this fit's settings."""
        from ..engine import SGD, Adam, Trainer  # the kernels, on first fit
        from ..engine.trainer import TrainingSettings

        if params.solver == "sgd":
            optimizer = SGD(
                params.learning_rate_init,
                params.learning_rate,
                params.momentum,
                params.nesterovs_momentum,
                params.power_t,
            )
        else:
            optimizer = Adam(
                params.learning_rate_init, params.beta_1, params.beta_2, params.epsilon
            )
        if self._trainer is None:
            self._trainer = Trainer(self._network, optimizer, batch_size, keys=self._keys)
        elif not incremental and not resumed:
            self._trainer.reset_optimizer(optimizer)
        elif incremental:
            self._trainer.adopt(optimizer)
        settings = TrainingSettings(
            batch_size,
            params.shuffle,
            params.alpha,
            params.l1,
            params.input_noise,
            self._target.loss_scale(self),
        )
        self._trainer.configure(settings)
        return self._trainer

    def _interrupted(self, where):
        """Warn that training stopped at a consistent point, or re-raise if asked."""
        warnings.warn(
            f"Training interrupted {where}; the model keeps the parameters of that point "
            "and can predict or continue with warm_start=True.",
            UserWarning,
            stacklevel=5,
        )
        if self._interrupt == "raise":
            raise KeyboardInterrupt

    # -------------------------------------------------------------- L-BFGS
    def _fit_lbfgs(self, X, Y, sample_weight, params):
        net = self._network

        mask = net.mask

        def objective(theta):
            loss, grad = net.loss_and_grad(theta, X, Y, sample_weight, params.alpha, params.l1)
            if mask.shape[0]:
                grad[: mask.shape[0]] *= mask  # pruned weights never move
            return loss, grad.astype(np.float64)

        last_iterate = net.theta.astype(np.float64)

        def remember(intermediate_result):
            last_iterate[...] = intermediate_result.x

        try:
            result = scipy.optimize.minimize(
                objective,
                net.theta.astype(np.float64),
                method="L-BFGS-B",
                jac=True,
                callback=remember,
                options={
                    "maxfun": params.max_fun,
                    "maxiter": params.max_iter,
                    "gtol": params.tol,
                },
            )
        except KeyboardInterrupt:
            net.theta[...] = last_iterate
            self.loss_ = float(objective(last_iterate)[0])
            self._interrupted("during L-BFGS; the last complete iteration was kept")
            return
        if result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) "
                f"(status={result.status}): {result.message}. Increase max_iter or "
                "max_fun, or scale the data.",
                ConvergenceWarning,
                stacklevel=4,
            )
        self.n_iter_ = min(result.nit, params.max_iter)
        self.loss_ = float(result.fun)
        net.theta[...] = result.x
        if params.verbose:
            print(f"L-BFGS-B: {self.n_iter_} iterations, loss = {self.loss_:.8f}")

    # ------------------------------------------------------------ predict
    def _network_data(self, X, y=None):
        """``X`` validated against the fitted model as its network predicts on it, and
        with ``y`` also the targets encoded as the network trains on them. Changes
        nothing in the model: what the diagnostics measure a fitted model with."""
        if not hasattr(self, "_network"):  # check_is_fitted costs a one-row prediction ~10 %
            check_is_fitted(self, "_network")
        self._sync_parameters()
        if y is None:
            return self._inputs.prediction_input(self, X)
        params = self._inputs.check_params(self)
        X, Y, _ = self._validated(X, y, params, incremental=True, reset=False)
        X = self._inputs.network_input(self, X, self._network, params)
        return X, np.ascontiguousarray(Y, dtype=self._network.dtype)

    def _forward(self, X):
        """Network outputs after the output activation, shape (n, n_outputs)."""
        X = self._network_data(X)
        return self._network.predict(X)

    def _mc_outputs(self, X, mc_samples, random_state):
        """``mc_samples`` stochastic forward passes with dropout on, stacked."""
        X = self._network_data(X)
        return self._network.predict_mc(X, mc_samples, random_state)

    def loss_and_grad(self, X, y, sample_weight=None):
        """The regularised training objective as a function of the flat parameters.

        Builds the network on first use (as ``fit`` would) and returns ``f`` with
        ``f(theta) -> (loss, grad)``, ready for ``scipy.optimize.minimize(f, theta0,
        jac=True)``. ``theta0`` is ``self.parameters_`` after the call.

        Returns
        -------
        callable
        """
        params, X, Y, sample_weight = self._prepare(X, y, sample_weight, incremental=True)
        net = self._network

        def f(theta):
            loss, grad = net.loss_and_grad(
                np.asarray(theta), X, Y, sample_weight, params.alpha, params.l1
            )
            return loss, grad.astype(np.float64)

        return f

    # ------------------------------------------------------------ pruning
    def prune_weights(self, amount, method="magnitude", scope="layer"):
        """Prune the fitted network to a total fraction ``amount`` of its weights.

        Weights pruned before stay pruned; the mask is kept by later ``fit`` calls
        with ``warm_start=True`` (fine-tuning) and by ``partial_fit``: pruned weights
        and their optimiser state stay exactly zero. Biases are never pruned.

        Parameters
        ----------
        amount : float in [0, 1)
        method : {"magnitude", "random"}, default="magnitude"
        scope : {"layer", "global"}, default="layer"

        Returns
        -------
        self
        """
        check_is_fitted(self, "_network")
        self._sync_parameters()
        self._own_parameters()
        amount = check_amount(amount)
        method = check_option("method", method, {"random", "magnitude"})
        scope = check_option("scope", scope, {"layer", "global"})
        _pruning.prune(self, amount, method, scope)
        _epochs.forget_best(self)
        return self

    # ---------------------------------------------------- parameter views
    @property
    def network_(self):
        """The fitted engine network (plan, flat parameters, kernels): what stochnet's
        diagnostics, :mod:`stochnet.io` and the ONNX export read. Holds the
        ``coefs_``/``intercepts_`` arrays a user assigned."""
        check_is_fitted(self, "_network")
        self._sync_parameters()
        return self._network

    @property
    def parameters_(self):
        """All parameters as one flat vector (weights, then biases); a live view."""
        check_is_fitted(self, "_network")
        return self._network.theta

    def _publish(self):
        """Expose ``coefs_``/``intercepts_`` as live views into the flat vector."""
        self.coefs_ = self._network.coefs
        self.intercepts_ = self._network.intercepts
        self._published = (self.coefs_, self.intercepts_, [*self.coefs_, *self.intercepts_])

    def _own_parameters(self):
        """Writable parameters before training or pruning writes to them: a model loaded
        with ``mmap_mode="r"`` gets its own copy (see ``Network.own_parameters``), and
        ``coefs_``/``intercepts_`` follow it."""
        if self._network.own_parameters():
            self._publish()

    def _sync_parameters(self):
        """Copy user-assigned ``coefs_``/``intercepts_`` lists into the flat vector."""
        coefs, intercepts, arrays = self._published
        current = [*self.coefs_, *self.intercepts_]
        if (
            self.coefs_ is coefs
            and self.intercepts_ is intercepts
            and len(current) == len(arrays)
            and all(a is b for a, b in zip(current, arrays, strict=True))
        ):
            return
        self._network.own_parameters()
        views = [*self._network.coefs, *self._network.intercepts]
        if len(current) != len(views):
            raise ValueError("coefs_ and intercepts_ must keep one array per layer.")
        for new, view in zip(current, views, strict=True):
            new = np.asarray(new)
            if new.shape != view.shape:
                raise ValueError(
                    f"coefs_/intercepts_ entry of shape {new.shape} does not match the "
                    f"network's {view.shape}."
                )
            view[...] = new
        self._publish()

    # ----------------------------------------------------------- pickling
    def __getstate__(self):
        # A copy: on Python >= 3.11 the base class may hand back ``__dict__`` itself.
        state = dict(super().__getstate__())
        for name in ("coefs_", "intercepts_", "_published"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        state = dict(state)
        if "_key" in state:  # one key for every source, before per-source seeds
            state["_keys"] = dict.fromkeys(SOURCES, state.pop("_key"))
        state.pop("_keep_finished_checkpoint", None)  # an ensemble member's, before
        super().__setstate__(state)
        if "_network" in state:
            self._publish()

    def __sklearn_tags__(self):
        tags = self._inputs.tags(self, super().__sklearn_tags__())
        tags.non_deterministic = False
        return tags


@functools.cache
def _param_names(cls):
    return tuple(super(NetworkEstimator, cls)._get_param_names())
