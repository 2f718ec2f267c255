"""The base of every network estimator: MLPs and attention encoders are thin siblings
that supply a network and the way their input reaches it."""

import sys
import time
import warnings
from collections.abc import Mapping

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .._validation import check_amount, check_option, is_int, same_setting
from ..kernels.codes import STREAMS
from ..random import SOURCES, derive_key, source_keys, splitmix64
from ._checkpoint import Checkpoint
from ._pruning import pruning_mask


class BaseNetworkEstimator(BaseEstimator):
    """What every network estimator shares: validation into a parameter record, the
    epoch loop (SGD, Adam, early stopping, checkpoints, Ctrl-C), L-BFGS, pruning,
    parameter views, prediction and pickling. Subclasses supply the network and how
    their input reaches it (the hooks below).
    """

    # ------------------------------------------------------------------ hooks
    def _check_params(self):
        """The validated parameters (an ``_params.TrainingParams``)."""
        raise NotImplementedError

    def _engine_loss(self):
        """Engine loss name for the fitted targets (the output mixins)."""
        raise NotImplementedError

    def _validate_input(self, X, y, params, incremental, reset):
        """``(X, Y)`` with ``Y`` a 2-D float array in ``X.dtype`` (the output mixins)."""
        raise NotImplementedError

    def _validate_Xy(self, X, y, params, reset, y_numeric=False):
        """scikit-learn's validation of ``(X, y)`` for this input."""
        raise NotImplementedError

    def _input_layout(self, X, params, reset):
        """``X`` before validation as rows, and its layout (image or sequence shape)."""
        return X, None

    def _with_input(self, params, X, layout, first_pass):
        """The parameters completed by what the validated input says (e.g. crops)."""
        return params

    def _continue(self, params):
        """Prepare a warm start or ``partial_fit``: raise if ``params`` would build another
        network (beyond :meth:`_architecture`), and give the network the settings that
        take effect in continued training (dropout rates)."""

    def _network_input(self, X, net, params):
        """Validated ``X`` as the network trains on it."""
        raise NotImplementedError

    def _architecture(self, params):
        """``(parameter name, value asked, value of the fitted network)`` of each parameter
        that shapes the network."""
        raise NotImplementedError

    def _build_network(self, X, Y, params):
        """The initialised network for validated ``X`` and encoded targets ``Y``."""
        raise NotImplementedError

    def _check_X(self, X):
        """Validated prediction input, as the network takes it."""
        raise NotImplementedError

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

    def _prune_at_init(self, params):
        if params.prune is not None and params.prune_at == "init":
            self._prune_by(params)

    def _prune_by(self, params):
        """Prune as the parameters say, and remember that they did (see
        :meth:`_prune_on_continuation`)."""
        self._pruned_with = self._pruning_settings(params)
        self._apply_pruning(*self._pruned_with)

    def _prepare(self, X, y, sample_weight, incremental):
        """Validate everything, build the network on a first pass; returns the parameter
        record and the data as the network trains on it."""
        params = self._check_params()
        first_pass = not hasattr(self, "_network") or (not params.warm_start and not incremental)
        X, layout = self._input_layout(X, params, reset=first_pass)
        X, Y = self._validate_input(X, y, params, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        params = self._with_input(params, X, layout, first_pass)
        if first_pass:
            self._initialize(X, Y, params)
            self._prune_at_init(params)
        else:
            self._sync_parameters()
            self._own_parameters()
            self._check_architecture(params)
            if self._n_outputs_for(Y.shape[1]) != self._network.n_outputs:
                raise ValueError(
                    f"y has {Y.shape[1]} outputs but the fitted network has "
                    f"{self.n_outputs_}; refit without warm_start."
                )
            self._continue(params)
            self._reseed(params)
            self._prune_on_continuation(params)
            self._complete_stopping_state(params)
        net = self._network.to(params.device)
        X = self._network_input(X, net, params)
        Y = np.ascontiguousarray(Y, dtype=net.dtype)
        if sample_weight is not None:
            sample_weight = sample_weight.astype(net.dtype, copy=False)
        return params, X, Y, sample_weight

    def _check_architecture(self, params):
        """A warm start (or partial_fit) continues the fitted network; a parameter that
        would build another one is an error, not silently ignored. ``init`` built the
        fitted weights: another one cannot take effect either."""
        built_with = getattr(self, "_init", params.init)  # files of earlier versions: unknown
        fitted_init = [("init", params.init, built_with)]
        for name, asked, fitted in [*self._architecture(params), *fitted_init]:
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

    def _prune_on_continuation(self, params):
        """``prune`` (pruning the weights a fit starts from) takes effect on a warm start
        when it or its method or scope changed: the network is pruned, or unpruned with
        ``prune=None``, before training on."""
        if params.prune_at != "init":
            return
        asked = None if params.prune is None else self._pruning_settings(params)
        pruned = getattr(self, "_pruned_with", asked)  # files of earlier versions: unknown
        if asked == pruned:
            return
        if asked is None:
            self._network.set_mask(None)
            self.masks_, self.sparsity_, self._pruned_with = None, 0.0, None
        elif pruned is None or asked[0] > pruned[0]:
            self._prune_by(params)
        else:
            changed = [
                f"{name}={new!r} (was {old!r})"
                for name, new, old in zip(
                    ("prune", "prune_method", "prune_scope"), asked, pruned, strict=True
                )
                if new != old
            ]
            raise ValueError(
                f"{', '.join(changed)}: the network is already pruned by {pruned[0]} "
                f"({pruned[1]}, per {pruned[2]}), and pruned weights stay pruned. A warm "
                "start can prune further (a larger prune) or unprune (prune=None); refit "
                "with warm_start=False for another mask."
            )

    @staticmethod
    def _pruning_settings(params):
        return (params.prune, params.prune_method, params.prune_scope)

    def _complete_stopping_state(self, params):
        """The early-stopping bookkeeping of ``params`` on a model fitted without it (or
        imported from scikit-learn, which keeps part of it): a warm start may switch
        ``early_stopping`` on or off."""
        if not params.stochastic:
            return
        if not hasattr(self, "loss_curve_"):
            self.loss_curve_ = []
        if not hasattr(self, "_no_improvement_count"):
            self._no_improvement_count = 0
        if params.early_stopping:
            if getattr(self, "validation_scores_", None) is None:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self._best_theta = self._network.theta.copy()
            if getattr(self, "validation_loss_curve_", None) is None:
                # Validation losses of the epochs before are unknown (scikit-learn does
                # not record them): NaN keeps the history one entry per epoch.
                self.validation_loss_curve_ = [np.nan] * len(self.validation_scores_)
            if getattr(self, "best_validation_score_", None) is None:
                self.best_validation_score_ = -np.inf
        elif getattr(self, "best_loss_", None) is None:
            self.best_loss_ = np.inf

    def _loss_scale(self):
        """Factor from the engine's data loss to the reported one (see ``Trainer``)."""
        return 1.0

    def _n_outputs_for(self, n_targets):
        from ..engine.plan import n_outputs_for

        return n_outputs_for(self._engine_loss(), n_targets)

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
            self._prune_by(params)
        if checkpoint is not None and completed:  # an interrupted fit keeps its checkpoint
            if getattr(self, "_keep_finished_checkpoint", False):  # an ensemble's member
                checkpoint.write(self, finished=True)
            else:
                checkpoint.remove()
        return self

    # ------------------------------------------------------------ pruning
    def _apply_pruning(self, amount, method, scope):
        net = self._network
        keep = pruning_mask(net, amount, method, scope, self._keys["prune"])
        net.set_mask(keep)
        self.masks_ = [
            m.reshape(w.shape)
            for m, w in zip(
                np.split(keep, np.cumsum([w.size for w in net.coefs])[:-1]), net.coefs, strict=True
            )
        ]
        self.sparsity_ = float(1.0 - keep.mean())

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
        self._apply_pruning(amount, method, scope)
        # The loss history belongs to the unpruned model: a fine-tuning fit must not
        # stop because it cannot beat the dense model's best loss.
        self._no_improvement_count = 0
        if getattr(self, "best_loss_", None) is not None:
            self.best_loss_ = np.inf
        if getattr(self, "best_validation_score_", None) is not None:
            self.best_validation_score_ = -np.inf
        return self

    def _initialize(self, X, Y, params):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self._keys = source_keys(params.random_state)
        self._network = self._build_network(X, Y, params)
        self.masks_ = None
        self.sparsity_ = 0.0
        self._pruned_with = None
        self._init = params.init
        self._trainer = None
        self._publish()
        self._best_theta = self._network.theta.copy()
        if params.stochastic:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if params.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    # ---------------------------------------------------- parameter views
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

    # --------------------------------------------------------- stochastic
    def _make_optimizer(self, params):
        from ..engine import SGD, Adam

        if params.solver == "sgd":
            return SGD(
                params.learning_rate_init,
                params.learning_rate,
                params.momentum,
                params.nesterovs_momentum,
                params.power_t,
            )
        return Adam(params.learning_rate_init, params.beta_1, params.beta_2, params.epsilon)

    def _validation_split(self, X, Y, sample_weight, params):
        """Indices of the training rows and the validation data (a copy of 10%)."""
        n = Y.shape[0]
        rows = np.arange(n, dtype=np.int64)
        stratify = self._stratify_labels(Y)
        seed = splitmix64(int(self._keys["validation"]) ^ STREAMS["validation"]) & 0xFFFFFFFF
        train, val = train_test_split(
            rows,
            random_state=seed,
            test_size=params.validation_fraction,
            stratify=stratify,
        )
        if val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        train = np.sort(train)
        sw_val = None if sample_weight is None else sample_weight[val]
        return train, self._take_rows(X, val), Y[val], sw_val

    @staticmethod
    def _take_rows(X, rows):
        """Rows ``rows`` of a validated input (a copy)."""
        return X[rows]

    def _stratify_labels(self, Y):
        return None

    def _fit_stochastic(
        self, X, Y, sample_weight, params, incremental, checkpoint=None, resumed=False
    ):
        """Epochs of SGD or Adam, continuing a fit ``resumed`` from ``checkpoint``, which
        is written at epoch ends (if not None); returns False when interrupted (Ctrl-C),
        True otherwise."""
        if params.early_stopping:
            rows, X_val, Y_val, sw_val = self._validation_split(X, Y, sample_weight, params)
        else:
            rows, X_val, Y_val, sw_val = None, None, None, None
        n_train = Y.shape[0] if rows is None else rows.shape[0]
        trainer = self._ready_trainer(
            params, self._batch_size(params, n_train), incremental, resumed
        )
        if not resumed:
            self.n_iter_ = 0  # as scikit-learn: counts the epochs of this call
        if self.n_iter_ >= params.max_iter:
            return True
        epoch = _EpochBookkeeping(
            self, params, n_train, incremental, checkpoint, X_val, Y_val, sw_val
        )
        progress = _ProgressBar(sys.stdout) if params.verbose and params.verbose >= 2 else None
        try:
            outcome = trainer.fit(
                X,
                Y,
                sample_weight,
                rows,
                stopping=epoch.stopping,
                on_epoch=epoch.completed,
                progress=progress,
            )
        except KeyboardInterrupt:
            self._restore_training_record(epoch.record)
            if checkpoint is not None:
                checkpoint.write(self)
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
        from ..engine.trainer import Trainer, TrainingSettings  # the kernels, on first fit

        if self._trainer is None:
            optimizer = self._make_optimizer(params)
            self._trainer = Trainer(self._network, optimizer, batch_size, keys=self._keys)
        elif not incremental and not resumed:
            self._trainer.reset_optimizer(self._make_optimizer(params))
        elif incremental:
            self._trainer.adopt(self._make_optimizer(params))
        settings = TrainingSettings(
            batch_size,
            params.shuffle,
            params.alpha,
            params.l1,
            params.input_noise,
            self._loss_scale(),
        )
        self._trainer.configure(settings)
        return self._trainer

    #: What an epoch changes in the estimator beside the trainer's state.
    _RECORDED = (
        "n_iter_",
        "t_",
        "loss_",
        "loss_curve_",
        "validation_scores_",
        "validation_loss_curve_",
        "best_loss_",
        "best_validation_score_",
        "_no_improvement_count",
        "_best_theta",
    )

    def _training_record(self):
        """The training history at an epoch end: the values, and for the histories
        (lists that a fit only appends to) their lengths; arrays are replaced, never
        changed in place. With the optimiser's learning rate."""
        record = {k: getattr(self, k) for k in self._RECORDED if hasattr(self, k)}
        record.update({k: (v, len(v)) for k, v in record.items() if isinstance(v, list)})
        record["learning_rate"] = self._trainer.optimizer.learning_rate
        return record

    def _restore_training_record(self, record):
        """Go back to a :meth:`_training_record` (Ctrl-C mid-epoch)."""
        self._trainer.optimizer.learning_rate = record["learning_rate"]
        for name in self._RECORDED:
            if name not in record:
                if hasattr(self, name):
                    delattr(self, name)
                continue
            value = record[name]
            if isinstance(value, tuple):  # a history: drop what came after the record
                history, length = value
                del history[length:]
                value = history
            setattr(self, name, value)

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

    def _update_no_improvement_count(self, params, X_val, Y_val, sw_val):
        tol = params.tol
        if params.early_stopping:
            score = self._score_encoded(X_val, Y_val, sw_val)
            self.validation_scores_.append(score)
            val_loss, _ = self._network.loss_and_grad(
                self._network.theta.copy(), X_val, Y_val, sw_val
            )
            self.validation_loss_curve_.append(val_loss * self._loss_scale())
            if score < self.best_validation_score_ + tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_theta = self._network.theta.copy()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

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
    def _forward(self, X):
        """Network outputs after the output activation, shape (n, n_outputs)."""
        X = self._check_X(X)
        return self._network.predict(X)

    def _mc_outputs(self, X, mc_samples, random_state):
        """``mc_samples`` stochastic forward passes with dropout on, stacked."""
        if not is_int(mc_samples) or mc_samples < 1:
            raise ValueError(f"mc_samples must be a positive int, got {mc_samples!r}.")
        mc_samples = int(mc_samples)
        X = self._check_X(X)
        key = derive_key(random_state)
        net = self._network
        return np.stack(
            [
                net.predict(X, dropout=True, key=key, step=s << 24, stream="mc_dropout")
                for s in range(mc_samples)
            ]
        )

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

    # ----------------------------------------------------------- pickling
    def __getstate__(self):
        # A copy: on Python >= 3.11 the base class may hand back ``__dict__`` itself.
        state = dict(super().__getstate__())
        for name in ("coefs_", "intercepts_", "_published"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        if "_key" in state:  # one key for every source, before per-source seeds
            state = dict(state)
            state["_keys"] = dict.fromkeys(SOURCES, state.pop("_key"))
        super().__setstate__(state)
        if "_network" in state:
            self._publish()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.non_deterministic = False
        return tags


class _EpochBookkeeping:
    """What an estimator does at each epoch end of :meth:`Trainer.fit`: scikit-learn's
    stopping rule (``tol``, ``n_iter_no_change``, ``early_stopping``; the adaptive
    learning rate), the training history, the record Ctrl-C comes back to, the verbose
    lines and the checkpoint file."""

    def __init__(self, estimator, params, n_train, incremental, checkpoint, X_val, Y_val, sw_val):
        from .._runtime.compiling import compile_seconds

        self.estimator, self.params, self.n_train = estimator, params, n_train
        self.incremental, self.checkpoint = incremental, checkpoint
        self.validation = (X_val, Y_val, sw_val)
        self.record = estimator._training_record()
        self.reached_max_iter = False
        self.message = None
        self._clock = compile_seconds
        self._start()

    def _start(self):
        self.tic, self.compiled = time.perf_counter(), self._clock()

    def stopping(self, loss):
        """Record the epoch; whether training stops after it."""
        est, params = self.estimator, self.params
        est.n_iter_ += 1
        est.loss_ = loss
        est.t_ += self.n_train
        est.loss_curve_.append(loss)
        est._update_no_improvement_count(params, *self.validation)
        optimizer = est._trainer.optimizer
        optimizer.iteration_ends(est.t_)
        stop, self.message = False, None
        if est._no_improvement_count > params.n_iter_no_change:
            what = "Validation score" if params.early_stopping else "Training loss"
            stop = optimizer.trigger_stopping()
            self.message = (
                f"{what} did not improve more than tol={params.tol:f} for "
                f"{params.n_iter_no_change} consecutive epochs."
                + (" Stopping." if stop else " Decreasing learning rate.")
            )
            if not stop:
                est._no_improvement_count = 0
        self.reached_max_iter = (
            not stop and not self.incremental and (est.n_iter_ >= params.max_iter)
        )
        return stop or self.incremental or self.reached_max_iter

    def diverged(self, loss):
        """Count the diverged epoch, as scikit-learn does (the model keeps the epoch
        before)."""
        est = self.estimator
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = float(loss) if np.isfinite(loss) else np.inf
        est.loss_curve_.append(est.loss_)

    def completed(self, stop):
        """The epoch is the point Ctrl-C comes back to: keep the record, report, and
        write the checkpoint when it is due."""
        est, params = self.estimator, self.params
        self.record = est._training_record()
        if params.verbose:
            line = f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}"
            if params.early_stopping:
                line += f", validation score = {est.validation_scores_[-1]:.6f}"
            compiled = self._clock() - self.compiled
            line += f", time = {time.perf_counter() - self.tic - compiled:.2f}s"
            print(line + (f" (+ {compiled:.1f}s compiling)" if compiled else ""))
            if self.message:
                print(self.message)
        if not stop and self.checkpoint is not None and self.checkpoint.due():
            self.checkpoint.write(est)
        self._start()


class _ProgressBar:
    """A one-line progress bar for epochs that take more than a second."""

    def __init__(self, stream, width=30, delay=1.0):
        self.stream, self.width, self.delay = stream, width, delay
        self.shown = False

    def start(self):
        self.tic = time.perf_counter()
        self.shown = False

    def update(self, done, total):
        if time.perf_counter() - self.tic < self.delay:
            return
        filled = int(self.width * done / total)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r  [{bar}] {100 * done // total:3d}%")
        self.stream.flush()
        self.shown = True

    def finish(self):
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
