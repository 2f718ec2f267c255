"""Checkpoints of a fit in progress (the ``checkpoint=`` parameter).

A checkpoint is a model file (:mod:`stochnet.io`: no pickle, every array checked on
load) of the estimator at the end of an epoch, with a record in its header of what the
fit was: its parameters and a fingerprint of its data. ``fit`` writes it atomically at
epoch ends, often enough to lose little work and rarely enough to cost little time,
resumes from it when it starts with the same parameters and data, refuses it (naming
the difference) otherwise, and removes it when it succeeds.
"""

import contextlib
import contextvars
import hashlib
import json
import os
import time

import numpy as np
import scipy.sparse

from .._runtime.files import remove_orphans

#: The first checkpoint is written at the first epoch end after this many seconds of
#: training, the next ones at least this long apart...
MIN_INTERVAL = 2.0
#: ... and at least this many times the last write's duration apart, so that writing
#: costs under 1/40 (2.5 %) of the fit's time.
COST_RATIO = 40.0

#: Whether a finished fit keeps its checkpoint, marked finished (an ensemble's member,
#: see :func:`kept_when_finished`), instead of removing it.
_KEEP_FINISHED = contextvars.ContextVar("keep_finished_checkpoints", default=False)

#: Parameters that do not change what a fit computes, left out of the comparison.
_IGNORED_PARAMS = ("checkpoint", "verbose")


def fingerprint(data):
    """A digest of an input's type, shapes, dtypes and contents (``None``, an array, a
    scipy sparse matrix, or a tuple of arrays such as a ``TokenInput``)."""
    digest = hashlib.blake2b(digest_size=16)

    def add(value):
        if value is None:
            digest.update(b"none")
        elif scipy.sparse.issparse(value):
            value = value.tocsr()
            digest.update(f"sparse{value.shape}".encode())
            for part in (value.data, value.indices, value.indptr):
                add(part)
        elif isinstance(value, tuple):
            digest.update(f"tuple{len(value)}".encode())
            for part in value:
                add(part)
        else:
            value = np.ascontiguousarray(value)
            digest.update(f"{value.dtype.str}{value.shape}".encode())
            digest.update(memoryview(value).cast("B"))

    add(data)
    return digest.hexdigest()


def _parameter_texts(estimator):
    """Each parameter as canonical text (``io``'s encoding, arrays by fingerprint)."""
    from .. import io  # not at import: ``from stochnet import MLPClassifier`` stays light

    texts = {}
    for name, value in estimator.get_params(deep=False).items():
        if name in _IGNORED_PARAMS:
            continue
        arrays = []
        try:
            node = io.encode(value, arrays, name)
        except ValueError as exc:
            raise ValueError(f"checkpoint needs parameters a model file can hold: {exc}") from None
        texts[name] = json.dumps(node, sort_keys=True) + "".join(
            f"#{fingerprint(a)}" for a in arrays
        )
    return texts


class Checkpoint:
    """The checkpoint file of one fit.

    Parameters
    ----------
    path : str or os.PathLike
    estimator : the estimator being fitted (its parameters are recorded)
    data : dict of str to input
        The fit's data by name (``"X"``, ``"y"``, ``"sample_weight"``), as the
        estimator trains on it.
    """

    def __init__(self, path, estimator, data):
        self.path = os.fspath(path)
        self.record = {
            "estimator": type(estimator).__name__,
            "params": _parameter_texts(estimator),
            "data": {name: fingerprint(value) for name, value in data.items()},
            "finished": False,
        }
        self._last_write = time.perf_counter()
        self._interval = MIN_INTERVAL

    def resume(self, estimator):
        """Load the saved state into ``estimator`` when the file exists.

        Returns
        -------
        None, "resumed" or "finished"
            Nothing to resume, a fit to continue, or a finished fit (an ensemble's
            member) that needs no more training.

        Raises
        ------
        ValueError
            If the file holds another fit (other parameters or data), or is not a
            checkpoint.
        """
        from .. import io

        remove_orphans(self.path)
        if not os.path.exists(self.path):
            return None
        header, saved = io.read(self.path)
        record = header.get("checkpoint")
        if record is None:
            raise ValueError(
                f"checkpoint={self.path!r} is a model file, not a checkpoint; choose another path."
            )
        if not _well_formed(record):
            raise ValueError(f"checkpoint={self.path!r}: malformed checkpoint record.")
        if type(saved) is not type(estimator):
            record = {**record, "estimator": type(saved).__name__}
        differences = self._differences(record)
        if differences:
            raise ValueError(
                f"checkpoint={self.path!r} holds a fit with other {'; '.join(differences)}. "
                "It was not resumed nor overwritten: remove the file to start afresh, or "
                "use another path."
            )
        if getattr(saved, "_trainer", None) is None or not _counts_epochs(saved):
            raise ValueError(f"checkpoint={self.path!r} holds no training state.")
        params = set(estimator.get_params(deep=False))
        state = {k: v for k, v in vars(saved).items() if k not in params and k != "_interrupt"}
        for name in [k for k in vars(estimator) if k not in params and k not in state]:
            delattr(estimator, name)  # e.g. attributes of a warm-start model
        estimator.__setstate__({**vars(estimator), **state})
        return "finished" if record["finished"] else "resumed"

    def _differences(self, record):
        if record["estimator"] != self.record["estimator"]:
            return [f"estimator ({record['estimator']}, not {self.record['estimator']})"]
        saved, now = record["params"], self.record["params"]
        names = sorted(k for k in {*saved, *now} if saved.get(k) != now.get(k))
        differences = []
        if names:
            shown = ", ".join(
                f"{k}={_short(saved.get(k))} (now {_short(now.get(k))})" for k in names
            )
            differences.append(f"parameters: {shown}")
        data = [k for k in self.record["data"] if record["data"].get(k) != self.record["data"][k]]
        if data:
            differences.append(f"data: {', '.join(data)} differ")
        return differences

    def due(self):
        """Whether enough time has passed since the last write (see ``MIN_INTERVAL``)."""
        return time.perf_counter() - self._last_write >= self._interval

    def write(self, estimator, finished=False):
        """Write ``estimator``'s state atomically (temporary file, fsync, rename)."""
        from .. import io

        tic = time.perf_counter()
        io.write(estimator, self.path, checkpoint={**self.record, "finished": finished})
        self._last_write = time.perf_counter()
        self._interval = max(MIN_INTERVAL, COST_RATIO * (self._last_write - tic))

    def finish(self, estimator):
        """The fit succeeded: remove the file, or within :func:`kept_when_finished`
        write it marked finished."""
        if _KEEP_FINISHED.get():
            self.write(estimator, finished=True)
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


@contextlib.contextmanager
def kept_when_finished():
    """Fits in this block keep their checkpoint when they finish, marked finished: an
    ensemble's members, so that a resumed ensemble skips the members done before."""
    token = _KEEP_FINISHED.set(True)
    try:
        yield
    finally:
        _KEEP_FINISHED.reset(token)


def _counts_epochs(saved):
    n_iter = getattr(saved, "n_iter_", None)
    return (
        isinstance(n_iter, int)
        and 0 <= n_iter <= saved.max_iter
        and isinstance(getattr(saved, "loss_curve_", None), list)
    )


def _well_formed(record):
    """The record's layout, as :meth:`Checkpoint.write` makes it."""

    def texts(node):
        return isinstance(node, dict) and all(isinstance(v, str) for v in node.values())

    return (
        isinstance(record, dict)
        and set(record) == {"estimator", "params", "data", "finished"}
        and isinstance(record["estimator"], str)
        and texts(record["params"])
        and texts(record["data"])
        and isinstance(record["finished"], bool)
    )


def _short(text, width=40):
    if text is None:
        return "absent"
    return text if len(text) <= width else text[: width - 3] + "..."


def member_path(path, index):
    """Ensemble member ``index``'s checkpoint beside the ensemble's ``path``:
    ``fit.ckpt`` → ``fit.member0.ckpt``."""
    root, extension = os.path.splitext(os.fspath(path))
    return f"{root}.member{index}{extension}"
