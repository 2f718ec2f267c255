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

import numba
from threadpoolctl import LibController, register


def _cgroup_v2_quota(path="/proc/self/cgroup", root="/sys/fs/cgroup"):
    """CPUs allowed by ``cpu.max`` on the way from this process's cgroup to the root."""
    try:
        with open(path) as f:
            group = next(line.split("::", 1)[1].strip() for line in f if line.startswith("0::"))
    except (OSError, StopIteration):
        return math.inf
    limit = math.inf
    parts = [p for p in group.split("/") if p]
    for depth in range(len(parts), -1, -1):
        try:
            with open(os.path.join(root, *parts[:depth], "cpu.max")) as f:
                quota, period = f.read().split()[:2]
        except (OSError, ValueError):
            continue
        if quota != "max":
            limit = min(limit, int(quota) / int(period))
    return limit


def _cgroup_v1_quota(root="/sys/fs/cgroup/cpu"):
    try:
        with open(os.path.join(root, "cpu.cfs_quota_us")) as f:
            quota = int(f.read())
        with open(os.path.join(root, "cpu.cfs_period_us")) as f:
            period = int(f.read())
    except (OSError, ValueError):
        return math.inf
    return quota / period if quota > 0 and period > 0 else math.inf


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


def get_num_threads():
    """Threads the CPU kernels use in the calling thread."""
    return max(1, min(numba.get_num_threads(), available_cpus()))


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


@contextlib.contextmanager
def kernel_threads():
    """Run the enclosed kernels on :func:`get_num_threads` threads."""
    previous = numba.get_num_threads()
    wanted = get_num_threads()
    if wanted == previous:
        yield wanted
        return
    numba.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        numba.set_num_threads(previous)


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


_registered = False


def register_controller():
    """Make threadpoolctl see Numba's pool (idempotent)."""
    global _registered
    if not _registered:
        register(NumbaController)
        _registered = True
