"""Kernel workspaces shared by the networks of one thread.

A workspace is scratch memory: every kernel writes a buffer before it reads it (the test
suite checks this by poisoning shared workspaces with NaN), so networks with the same
layout can take turns with one. The many small fits of a seed study, an ensemble or a
grid search then reuse the memory of the fit before them. Without this, each fit freed a
few megabytes of workspaces; glibc gives memory freed in a worker thread back to the
system (its arena is trimmed), and the next fit faulted it back in: ~600 page faults and
2 ms of system time per digits fit, while the fit beside it stalled on the TLB
shootdowns. A workspace is kept in the pool of the thread that allocated it; a
thread never sees another thread's.
"""

import threading
from collections import OrderedDict

import numpy as np

#: Bytes of workspaces a thread keeps for networks to come; larger ones stay with their
#: network only (their allocation is small beside the work they serve).
BUDGET_BYTES = 32 << 20


class _ThreadPool(threading.local):
    def __init__(self):
        self.workspaces = OrderedDict()  # key -> (workspace, bytes), least recent first
        self.nbytes = 0


_pool = _ThreadPool()


def shared_workspace(key, allocate):
    """The calling thread's workspace for ``key``, made by ``allocate()`` on first use.

    Parameters
    ----------
    key : hashable
        Everything the allocation depends on (layout, rows, dtype): equal keys must
        give workspaces of equal shapes.
    allocate : callable
        Returns a new workspace (a named tuple of arrays and scalars).
    """
    pool = _pool
    entry = pool.workspaces.get(key)
    if entry is not None:
        pool.workspaces.move_to_end(key)
        return entry[0]
    workspace = allocate()
    nbytes = workspace_bytes(workspace)
    if nbytes <= BUDGET_BYTES:
        pool.workspaces[key] = (workspace, nbytes)
        pool.nbytes += nbytes
        while pool.nbytes > BUDGET_BYTES:
            _, (_, freed) = pool.workspaces.popitem(last=False)
            pool.nbytes -= freed
    return workspace


def workspace_bytes(workspace):
    """Bytes of the arrays in ``workspace`` (named tuples inside it included)."""
    total = 0
    for value in workspace:
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, tuple):
            total += workspace_bytes(value)
    return total


def thread_workspaces():
    """The workspaces the calling thread keeps, least recently used first."""
    return [workspace for workspace, _ in _pool.workspaces.values()]
