"""How many threads stochnet's CPU kernels use.

By default, the CPUs this process may actually use: its CPU affinity (``taskset``,
``os.sched_setaffinity``) and its cgroup's CPU quota (``cpu.max``, as a container's
``--cpus`` sets it), whichever is smaller. Limits set through threadpoolctl
(``threadpool_limits(1)``, which joblib also uses for its workers' inner threads) or
:func:`set_num_threads` lower it further, for the calling thread: Numba's thread count
is per Python thread. The number never changes results: the kernels split their work
by the machine's core count, not by the threads that run it.
"""

import contextlib
import functools
import math
import numbers
import os
import random
import threading
import time
import weakref

import numba
from joblib import Parallel, effective_n_jobs
from threadpoolctl import LibController, ThreadpoolController, register


def _own_cgroups(path):
    """``{controller: cgroup path}`` of this process, from ``/proc/self/cgroup``."""
    try:
        with open(path) as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:  # not Linux, or no /proc: no cgroup limits known
        return {}
    return {
        controller: fields[2]
        for fields in lines
        if len(fields) == 3
        for controller in (fields[1].split(",") if fields[1] else [""])
    }


def _tightest(folders, read):
    """The smallest CPU count ``read(folder)`` gives over ``folders`` (``inf`` if none)."""
    limits = [read(folder) for folder in folders]
    return min([limit for limit in limits if limit is not None], default=math.inf)


def _ancestors(root, group):
    """``root/group`` and each folder above it up to ``root``."""
    parts = [p for p in group.split("/") if p]
    return [os.path.join(root, *parts[:depth]) for depth in range(len(parts), -1, -1)]


def _read_v2(folder):
    try:
        with open(os.path.join(folder, "cpu.max")) as f:
            quota, period = f.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def _read_v1(folder):
    try:
        with open(os.path.join(folder, "cpu.cfs_quota_us")) as f:
            quota = int(f.read())
        with open(os.path.join(folder, "cpu.cfs_period_us")) as f:
            period = int(f.read())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _cgroup_v2_quota(path="/proc/self/cgroup", root="/sys/fs/cgroup"):
    """CPUs allowed by ``cpu.max`` on the way from this process's cgroup to the root."""
    group = _own_cgroups(path).get("")
    return math.inf if group is None else _tightest(_ancestors(root, group), _read_v2)


def _cgroup_v1_quota(path="/proc/self/cgroup", root="/sys/fs/cgroup/cpu"):
    """CPUs allowed by ``cpu.cfs_quota_us`` (cgroup v1) on the way to the root of the
    ``cpu`` hierarchy (a container sees its own cgroup as that root)."""
    group = _own_cgroups(path).get("cpu")
    return math.inf if group is None else _tightest(_ancestors(root, group), _read_v1)


@functools.cache
def cpu_quota():
    """CPUs the cgroup quota allows (``inf`` without one), read once."""
    return min(_cgroup_v2_quota(), _cgroup_v1_quota())


def available_cpus():
    """CPUs this process may use: its affinity, capped by its cgroup's quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    quota = cpu_quota()
    if quota < cpus:
        cpus = math.ceil(quota)
    return max(1, cpus)


_fits_lock = threading.Lock()
_fits_running = 0
#: The worker counts of the :func:`parallel_fits` blocks running now.
_fits_planned = []


@contextlib.contextmanager
def fitting():
    """Count a fit running in this process while the block runs: fits side by side
    (Python threads: a seed study, an ensemble, a threaded grid search) share the CPUs
    (see :func:`get_num_threads`)."""
    global _fits_running
    with _fits_lock:
        _fits_running += 1
    try:
        yield
    finally:
        with _fits_lock:
            _fits_running -= 1


def get_num_threads():
    """Threads the CPU kernels use in the calling thread: its Numba thread count, at
    most the CPUs this process may use shared among the fits running in it."""
    side_by_side = max(1, _fits_running, *_fits_planned)
    share = available_cpus() // side_by_side
    return max(1, min(numba.get_num_threads(), share))


def set_num_threads(n):
    """Use at most ``n`` threads in the CPU kernels called from the calling thread.

    Parameters
    ----------
    n : int >= 1
        Capped at the machine's core count.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an integer >= 1; got {n!r}.")
    if n < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}.")
    numba.set_num_threads(min(int(n), numba.config.NUMBA_NUM_THREADS))


#: A region in which the calling thread waited for a CPU this fraction of its wall time
#: ran on an oversubscribed machine (measured: alone 0.00-0.01; beside a busy process or
#: a second stochnet process 0.5-0.6).
WAIT_LIMIT = 0.25
#: Regions shorter than this (ns) are too short to tell.
MIN_REGION_NS = 1_000_000
#: Seconds on one thread after contention; doubled (up to the maximum) each time the
#: machine is still oversubscribed when all threads come back.
BACKOFF_SECONDS = (0.5, 8.0)


def _schedstat_path():
    path = f"/proc/self/task/{threading.get_native_id()}/schedstat"
    return path if os.path.exists(path) else None


class _Governor:
    """One thread's choice between all its threads and one.

    Parallel regions end in barriers; on a machine with more runnable threads than
    cores (a second stochnet process, a busy neighbour, a CPU quota), each barrier
    waits for a thread that is not running, and a fit slows down tenfold. Linux counts
    the time a thread spends runnable but waiting for a CPU (``schedstat``): when the
    calling thread waited more than :data:`WAIT_LIMIT` of a region, the next regions
    run on one thread, which needs no barrier, until the back-off ends.
    """

    def __init__(self):
        self.path = _schedstat_path()
        self.single_until = 0.0
        self.backoff = BACKOFF_SECONDS[0]
        self.mark = None
        self._fd = None
        self.pid = os.getpid()

    def _wait_ns(self):
        if self._fd is None:  # held open: reopening it at each reading cost 12 % of a small fit
            self._fd = os.open(self.path, os.O_RDONLY)
            weakref.finalize(self, os.close, self._fd)
        return int(os.pread(self._fd, 256, 0).split()[1])

    def threads(self, wanted):
        if wanted > 1 and time.monotonic() < self.single_until:
            return 1
        return wanted

    def start(self):
        if self.path is not None:
            self.mark = (time.perf_counter_ns(), self._wait_ns())

    def finish(self, threads):
        if self.mark is None:
            return
        wall = time.perf_counter_ns() - self.mark[0]
        waited = self._wait_ns() - self.mark[1]
        self.mark = None
        if wall < MIN_REGION_NS:
            return
        if waited > WAIT_LIMIT * wall:
            if threads > 1:
                # Jittered, so that two processes backing off together desynchronise.
                self.single_until = time.monotonic() + self.backoff * (0.5 + random.random())
                self.backoff = min(2 * self.backoff, BACKOFF_SECONDS[1])
        elif threads > 1:
            self.backoff = BACKOFF_SECONDS[0]


_local = threading.local()


def _governor():
    governor = getattr(_local, "governor", None)
    if governor is None or governor.pid != os.getpid():  # new thread, or a forked child
        governor = _local.governor = _Governor()
    return governor


@functools.cache
def one_region_at_a_time():
    """Whether Numba's threading layer aborts the process when two Python threads are
    in parallel regions at once: its ``workqueue`` layer (OpenMP and TBB run them side
    by side). It is the layer where neither is installed, and the one chosen by
    ``NUMBA_THREADING_LAYER=workqueue``."""
    numba.get_num_threads()  # starts the pool, which settles the layer
    return numba.threading_layer() == "workqueue"


#: Under the workqueue layer, the Python thread whose kernels may run on more than one
#: thread (reentrant: a prediction inside that thread's fit keeps it).
_region = threading.RLock()


def _claim_region(count):
    """``(count, held)``: the thread count the calling thread may use and whether it
    took the region for it. Under the workqueue layer only the region's holder runs on
    more than one thread; another thread runs on one instead of waiting (every kernel
    takes its serial path then, which starts no parallel region and gives the same
    bits)."""
    if count > 1 and one_region_at_a_time():
        if _region.acquire(blocking=False):
            return count, True
        return 1, False
    return count, False


class KernelThreads:
    """The thread count of a run of kernel calls (see :func:`kernel_threads`)."""

    def __init__(self, wanted):
        self.wanted = wanted
        self.governor = _governor()
        self.count, self.region = _claim_region(self.governor.threads(wanted))

    def checkpoint(self):
        """Between two kernel calls: take the last one's measure and maybe switch
        between one thread and all of them. Returns True when the thread count went
        up (the caller may keep the next call short: the machine may still be busy)."""
        if self.wanted == 1:  # nothing to choose: no measure (two file reads a call)
            return False
        self.governor.finish(self.count)
        count = self.governor.threads(self.wanted)
        if count > 1 and not self.region:
            count, self.region = _claim_region(count)
        more = count > self.count
        if count != self.count:
            numba.set_num_threads(count)
            self.count = count
        self.governor.start()
        return more

    def release(self):
        """Give the region back (workqueue only), at the end of the run."""
        if self.region:
            self.region = False
            _region.release()


@contextlib.contextmanager
def _numba_threads(count):
    """Numba's thread count of the calling thread at ``count`` for the block, then back
    to what it was (the block may change it meanwhile)."""
    previous = numba.get_num_threads()
    if count != previous:
        numba.set_num_threads(count)
    try:
        yield
    finally:
        if numba.get_num_threads() != previous:
            numba.set_num_threads(previous)


@contextlib.contextmanager
def kernel_threads():
    """Run the enclosed kernels on :func:`get_num_threads` threads, or on one while the
    machine is oversubscribed (or, under Numba's workqueue layer, while another Python
    thread runs kernels on several); yields a :class:`KernelThreads`."""
    pool = KernelThreads(get_num_threads())
    try:
        with _numba_threads(pool.count):
            measure = pool.wanted > 1
            if measure:
                pool.governor.start()
            try:
                yield pool
            finally:
                if measure:
                    pool.governor.finish(pool.count)
    finally:
        pool.release()


@contextlib.contextmanager
def calling_threads():
    """Run the enclosed kernel calls on :func:`get_num_threads` threads of the calling
    thread (its share beside other fits), claiming the region where the threading layer
    needs it (see :func:`kernel_threads`, which also measures the machine)."""
    count, held = _claim_region(get_num_threads())
    try:
        with _numba_threads(count):
            yield count
    finally:
        if held:
            _region.release()


class NumbaController(LibController):
    """threadpoolctl's handle on Numba's parallel-loop pool (the one stochnet's CPU
    kernels run on), so that ``threadpool_limits`` applies to it."""

    user_api = "openmp"
    internal_api = "numba"
    filename_prefixes = ("omppool", "tbbpool", "workqueue")

    def get_num_threads(self):
        return numba.get_num_threads()

    def set_num_threads(self, num_threads):
        numba.set_num_threads(max(1, min(int(num_threads), numba.config.NUMBA_NUM_THREADS)))

    def get_version(self):
        return numba.__version__


@functools.cache
def _blas_pools():
    """The process's BLAS thread pools, found once: a scan reads ``/proc/self/maps``
    (about 4 ms, more than a whole epoch on small data). SciPy's BLAS, the one the
    kernels call (through Numba's ``numba_xxgemm``), and NumPy's are loaded before the
    first fit: scikit-learn imports both."""
    controllers = ThreadpoolController().lib_controllers
    return [pool for pool in controllers if pool.user_api == "blas"]


@contextlib.contextmanager
def parallel_fits(n_jobs):
    """joblib's ``Parallel`` (as a generator) for many fits: a seed study's runs, an
    ensemble's members.

    Threads unless the active joblib backend says otherwise: fits side by side share
    the CPUs and start, import and load nothing. Each fit takes its share of the CPUs
    for the whole block (:func:`get_num_threads`), as if all the workers were busy: a
    fit that starts while another is still validating its data would otherwise take
    every CPU for a compiled call that outlasts the other's start. The BLAS stays at
    one thread for the whole block, not switched between one fit and the next.
    """
    workers = effective_n_jobs(n_jobs)
    with _fits_lock:
        _fits_planned.append(workers)
    try:
        with one_blas_thread():
            yield Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")
    finally:
        with _fits_lock:
            _fits_planned.remove(workers)


_blas_lock = threading.Lock()
_blas_holders = 0
_blas_saved = []

_OPENBLAS_AFFIXES = [(p, s) for p in ("", "scipy_") for s in ("", "64_", "_64")]


@functools.cache
def _process_wide_setter(pool):
    """OpenBLAS's own ``openblas_set_num_threads`` for a pool whose count is process-wide
    (not OpenMP-threaded), else ``None``.

    threadpoolctl (from 3.8) lets only the first Python thread that set such a pool's
    count change it again, and silently ignores every other thread: once the main thread
    had limited the BLAS, a fit in any other thread ran with the BLAS threaded. The
    count is the process's either way, and :func:`one_blas_thread` already serialises
    who changes it, so stochnet calls the library itself.
    """
    if pool.internal_api != "openblas" or getattr(pool, "threading_layer", None) == "openmp":
        return None  # an OpenMP-threaded OpenBLAS counts per thread: threadpoolctl's way
    library = getattr(pool, "dynlib", None)
    for prefix, suffix in _OPENBLAS_AFFIXES:
        setter = getattr(library, f"{prefix}openblas_set_num_threads{suffix}", None)
        if setter is not None:
            return setter
    return None


def _set_blas_threads(pool, count):
    setter = _process_wide_setter(pool)
    if setter is None:
        pool.set_num_threads(count)
    else:
        setter(count)


@contextlib.contextmanager
def one_blas_thread():
    """The BLAS at one thread while any thread of the process is in such a block (the
    BLAS's thread count is process-wide: the last one out restores it). threadpoolctl's
    ``limit`` would cost about an epoch of a small fit, and two threads' limits would
    undo each other."""
    global _blas_holders, _blas_saved
    with _blas_lock:
        if _blas_holders == 0:
            _blas_saved = [(pool, pool.num_threads) for pool in _blas_pools()]
            for pool, threads in _blas_saved:
                if threads != 1:
                    _set_blas_threads(pool, 1)
        _blas_holders += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_holders -= 1
            if _blas_holders == 0:
                for pool, threads in _blas_saved:
                    if threads != 1:
                        _set_blas_threads(pool, threads)


_registered = False


def register_controller():
    """Make threadpoolctl see Numba's pool (idempotent)."""
    global _registered
    if not _registered:
        register(NumbaController)
        _registered = True
