"""Compiling stochnet's kernels: announced, timed, and done once across processes.

Numba compiles a kernel on its first call with new argument types unless its on-disk
cache has it. A listener on Numba's ``numba:compile`` event (which fires only on a
cache miss, never on a cache load) makes that visible and cheap to share:

* **Announced.** Before the first compile of a burst, one :class:`CompileWarning` says
  what is compiling, why (nothing cached yet, a new dtype, a new Numba version, kernels
  changed, another CPU), about how long it takes, and that it is cached afterwards.
  Silence it with ``warnings.filterwarnings("ignore", category=CompileWarning)``.
* **Timed.** :func:`compile_seconds` is the process's total compile time, so epoch
  times can leave it out (``verbose``) and report it separately.
* **Shared.** While a process compiles, it holds an exclusive lock on a file in the
  cache directory, until it has compiled nothing for :data:`QUIET_SECONDS`. Another
  process that misses the cache meanwhile waits for it and then loads what the first
  one cached, instead of compiling the same kernels beside it (a joblib or Dask pool
  on an empty cache). The kernel it was already compiling when it started to wait is
  compiled once more; everything after comes from the cache.
"""

import os
import pathlib
import pickle
import sys
import threading
import time
import warnings

import numba
from numba.core import event

from .cache import kernel_tree_hash

#: A process keeps the compile lock (and counts one burst) until it has compiled
#: nothing for this long.
QUIET_SECONDS = 3.0
#: The longest a process waits for another one's compile before compiling itself.
WAIT_SECONDS = 900.0

_PACKAGE = pathlib.Path(__file__).resolve().parent


def _package_dir(module):
    return str(pathlib.Path(module.__file__).resolve().parent)


class CompileWarning(UserWarning):
    """stochnet is about to compile kernels (once; they are cached afterwards)."""


def compile_seconds():
    """Seconds this process has spent compiling stochnet's kernels so far."""
    return _listener.total_seconds


def compile_count():
    """Kernels (entry points and callees) this process has compiled so far."""
    return _listener.count


def _is_stochnet(dispatcher):
    module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
    return module.startswith("stochnet.")


def _dtypes(args):
    names = sorted({str(a.dtype) for a in args if hasattr(a, "dtype") and hasattr(a, "ndim")})
    return [n for n in names if n.startswith("float")]


def read_index(path):
    """``(numba version, stamp, overloads)`` of the cache index file ``path`` (no stamp
    and no overloads when another Numba version wrote it)."""
    with open(path, "rb") as f:
        version = pickle.load(f)
        if version != numba.__version__:
            return version, None, {}
        stamp, overloads = pickle.loads(f.read())
    return version, stamp, overloads


def _index(dispatcher):
    """:func:`read_index` of the kernel's cache index, or None."""
    try:
        return read_index(dispatcher._cache._cache_file._index_path)
    except Exception:  # no index, or a layout this Numba does not have: no reason known
        return None


def _key_args(key):
    """The argument types of a cache index key ``(signature, machine, ...)``."""
    sig = key[0]
    return tuple(getattr(sig, "args", sig))


def _cache_dir(dispatcher):
    try:
        return dispatcher._cache._cache_path
    except AttributeError:
        return None


def why(dispatcher, args):
    """Why ``dispatcher`` compiles for ``args``: a short phrase for the message."""
    index = _index(dispatcher)
    kinds = "/".join(_dtypes(args))
    if index is None:
        directory = _cache_dir(dispatcher)
        cached = directory is not None and any(pathlib.Path(directory).glob("*.nbi"))
        if not cached:
            return "nothing is cached yet for this installation"
        return f"first use of these {kinds} kernels" if kinds else "first use of these kernels"
    version, stamp, overloads = index
    if version != numba.__version__:
        return f"the cache was made by Numba {version}, this is Numba {numba.__version__}"
    if stamp != kernel_tree_hash():
        return "stochnet's kernels changed since they were cached"
    if any(_key_args(key) == tuple(args) for key in overloads):
        return "the cache was made on a CPU of another kind"
    return f"first use with these {kinds} arguments" if kinds else "first use with these arguments"


def _user_stacklevel():
    """The ``stacklevel`` that points a warning at the user's code: the first frame
    outside stochnet, Numba, scikit-learn, joblib and the standard library."""
    import joblib
    import sklearn

    frame, level = sys._getframe(1), 1
    skip = (
        str(_PACKAGE),
        *map(_package_dir, (numba, sklearn, joblib)),
        os.path.dirname(threading.__file__),
    )
    while frame is not None and frame.f_code.co_filename.startswith(skip):
        frame, level = frame.f_back, level + 1
    return level


class _FileLock:
    """An exclusive ``flock`` on one file, taken at most once per process."""

    def __init__(self):
        self._file = None

    @property
    def held(self):
        return self._file is not None

    def acquire(self, directory):
        """Take the lock in ``directory``; True if another process held it first."""
        try:
            import fcntl
        except ImportError:  # Windows: no cross-process sharing
            return False
        try:
            os.makedirs(directory, exist_ok=True)
            f = open(os.path.join(directory, "stochnet-compile.lock"), "a+b")
        except OSError:  # a read-only cache directory: Numba falls back elsewhere
            return False
        deadline = time.monotonic() + WAIT_SECONDS
        waited = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._file = f
                return waited
            except OSError:
                if time.monotonic() > deadline:  # compile beside it after all
                    f.close()
                    return True
                waited = True
                time.sleep(0.05)

    def release(self):
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None


class _Listener(event.Listener):
    """Times, announces and serialises compiles of stochnet's kernels.

    Numba compiles under its global compiler lock, so events arrive from one thread at
    a time and nest (a kernel's callees compile inside it); ``_state`` still guards the
    fields the release timer reads.
    """

    def __init__(self):
        self._state = threading.Lock()
        self._depth = 0
        self._started = 0.0
        self._last_end = -float("inf")
        self._lock = _FileLock()
        self._timer = None
        self.total_seconds = 0.0
        self.count = 0

    def on_start(self, event):
        dispatcher = event.data["dispatcher"]
        if not _is_stochnet(dispatcher):
            return
        self.count += 1
        if self._depth:
            self._depth += 1
            return
        now = time.perf_counter()
        new_burst = now - self._last_end > QUIET_SECONDS
        if new_burst:
            args = event.data["args"]
            self._announce(dispatcher, args)
        with self._state:
            self._depth = 1
            need_lock = not self._lock.held
        directory = _cache_dir(dispatcher)
        if need_lock and directory is not None:
            self._lock.acquire(directory)
        self._started = time.perf_counter()

    def on_end(self, event):
        if not _is_stochnet(event.data["dispatcher"]) or not self._depth:
            return
        self._depth -= 1
        if self._depth:
            return
        now = time.perf_counter()
        with self._state:
            self.total_seconds += now - self._started
            self._last_end = now
            if self._lock.held and self._timer is None:
                self._schedule_release(QUIET_SECONDS)

    def _schedule_release(self, delay):
        self._timer = threading.Timer(delay, self._release_when_quiet)
        self._timer.daemon = True
        self._timer.start()

    def _release_when_quiet(self):
        with self._state:
            quiet_for = time.perf_counter() - self._last_end
            if self._depth == 0 and quiet_for >= QUIET_SECONDS:
                self._lock.release()
                self._timer = None
            else:
                self._schedule_release(max(QUIET_SECONDS - quiet_for, 0.0) + 0.01)

    def _announce(self, dispatcher, args):
        name = getattr(dispatcher.py_func, "__name__", "kernels")
        kinds = "/".join(_dtypes(args))
        what = f"{kinds} CPU kernels" if kinds else "CPU kernels"
        if "cuda" in dispatcher.py_func.__module__:
            what = what.replace("CPU", "CUDA")
        warnings.warn(
            f"stochnet is compiling its {what} (starting with {name}; "
            f"{why(dispatcher, args)}). This takes about 10-60 s once per model family and "
            "dtype; later runs load them from Numba's cache in well under a second. "
            "`python -m stochnet compile` does it ahead of time.",
            CompileWarning,
            stacklevel=_user_stacklevel(),
        )


_listener = _Listener()
_installed = False


def _forget_lock_in_child():
    """A forked child shares the parent's open lock file (and with it the flock) but
    not the timer thread that would close it: it must not keep the lock alive."""
    _listener._lock._file = None
    _listener._timer = None
    _listener._state = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_lock_in_child)


def install():
    """Listen to Numba's compile events (idempotent)."""
    global _installed
    if not _installed:
        event.register("numba:compile", _listener)
        _installed = True
