"""scikit-learn's stopping rule and the training history it keeps on an estimator.

:meth:`Trainer.fit <stochnet.engine.Trainer.fit>` owns the epoch loop; at each epoch end
it asks :class:`EpochBookkeeping` whether to stop. The rule is scikit-learn's
(``tol``, ``n_iter_no_change``, ``early_stopping``, the adaptive learning rate), and so
are the attributes it keeps (``loss_curve_``, ``best_loss_``, ``validation_scores_``,
...), plus ``validation_loss_curve_``.
"""

import time

import numpy as np

#: What an epoch changes in the estimator beside the trainer's state.
RECORDED = (
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


def start_history(est, params):
    """The history of a new network: empty, with the best so far at its worst."""
    est._best_theta = est._network.theta.copy()
    if not params.stochastic:
        return
    est.loss_curve_ = []
    est._no_improvement_count = 0
    if params.early_stopping:
        est.validation_scores_ = []
        est.validation_loss_curve_ = []
        est.best_validation_score_ = -np.inf
        est.best_loss_ = None
    else:
        est.best_loss_ = np.inf
        est.validation_scores_ = None
        est.best_validation_score_ = None


def complete_history(est, params):
    """The history ``params`` needs on a model fitted without it (or imported from
    scikit-learn, which keeps part of it): a warm start may switch ``early_stopping``
    on or off."""
    if not params.stochastic:
        return
    if not hasattr(est, "loss_curve_"):
        est.loss_curve_ = []
    if not hasattr(est, "_no_improvement_count"):
        est._no_improvement_count = 0
    if params.early_stopping:
        if getattr(est, "validation_scores_", None) is None:
            est.validation_scores_ = []
            est.best_validation_score_ = -np.inf
            est._best_theta = est._network.theta.copy()
        if getattr(est, "validation_loss_curve_", None) is None:
            # Validation losses of the epochs before are unknown (scikit-learn does
            # not record them): NaN keeps the history one entry per epoch.
            est.validation_loss_curve_ = [np.nan] * len(est.validation_scores_)
        if getattr(est, "best_validation_score_", None) is None:
            est.best_validation_score_ = -np.inf
    elif getattr(est, "best_loss_", None) is None:
        est.best_loss_ = np.inf


def forget_best(est):
    """After pruning: the history belongs to the unpruned model, and a fine-tuning fit
    must not stop because it cannot beat the dense model's best."""
    est._no_improvement_count = 0
    if getattr(est, "best_loss_", None) is not None:
        est.best_loss_ = np.inf
    if getattr(est, "best_validation_score_", None) is not None:
        est.best_validation_score_ = -np.inf


def training_record(est):
    """The training history at an epoch end: the values, and for the histories (lists
    that a fit only appends to) their lengths; arrays are replaced, never changed in
    place. With the optimiser's learning rate."""
    record = {k: getattr(est, k) for k in RECORDED if hasattr(est, k)}
    record.update({k: (v, len(v)) for k, v in record.items() if isinstance(v, list)})
    record["learning_rate"] = est._trainer.optimizer.learning_rate
    return record


def restore_training_record(est, record):
    """Go back to a :func:`training_record` (Ctrl-C mid-epoch)."""
    est._trainer.optimizer.learning_rate = record["learning_rate"]
    for name in RECORDED:
        if name not in record:
            if hasattr(est, name):
                delattr(est, name)
            continue
        value = record[name]
        if isinstance(value, tuple):  # a history: drop what came after the record
            history, length = value
            del history[length:]
            value = history
        setattr(est, name, value)


class EpochBookkeeping:
    """What an estimator does at each epoch end of :meth:`Trainer.fit`: scikit-learn's
    stopping rule (``tol``, ``n_iter_no_change``, ``early_stopping``; the adaptive
    learning rate), the training history, the record Ctrl-C comes back to, the verbose
    lines and the checkpoint file."""

    def __init__(self, estimator, params, n_train, incremental, checkpoint, validation):
        from .._runtime.compiling import compile_seconds

        self.estimator, self.params, self.n_train = estimator, params, n_train
        self.incremental, self.checkpoint = incremental, checkpoint
        self.validation = validation  # (X_val, Y_val, sw_val), or None
        self.record = training_record(estimator)
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
        self._count_no_improvement()
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

    def rule(self):
        """Where the stopping rule stands, for the trainer to apply between epochs it
        runs in one compiled call (``engine.LossRule``); None where an epoch end needs
        more than the training loss: a validation score, a learning rate that changes
        each epoch, a line of output, a checkpoint file, or ``partial_fit``'s one
        epoch."""
        from ..engine.trainer import LossRule

        est, params = self.estimator, self.params
        if (
            params.early_stopping
            or params.verbose
            or self.incremental
            or self.checkpoint is not None
            or est._trainer.optimizer.changes_each_epoch
        ):
            return None
        return LossRule(
            params.tol,
            params.n_iter_no_change,
            est.best_loss_,
            est._no_improvement_count,
            params.max_iter - est.n_iter_,
        )

    def _count_no_improvement(self):
        est, tol = self.estimator, self.params.tol
        if self.params.early_stopping:
            X_val, Y_val, sw_val = self.validation
            score = est._target.score_encoded(est, X_val, Y_val, sw_val)
            est.validation_scores_.append(score)
            net = est._network
            val_loss, _ = net.loss_and_grad(net.theta.copy(), X_val, Y_val, sw_val)
            est.validation_loss_curve_.append(val_loss * est._target.loss_scale(est))
            if score < est.best_validation_score_ + tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_theta = net.theta.copy()
        else:
            if est.loss_curve_[-1] > est.best_loss_ - tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if est.loss_curve_[-1] < est.best_loss_:
                est.best_loss_ = est.loss_curve_[-1]

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
        self.record = training_record(est)
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

    def interrupted(self):
        """Ctrl-C mid-epoch: back to the last epoch end, kept in the checkpoint."""
        restore_training_record(self.estimator, self.record)
        if self.checkpoint is not None:
            self.checkpoint.write(self.estimator)


class ProgressBar:
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
