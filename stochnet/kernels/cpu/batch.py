"""Gathering a mini-batch's rows, targets and sample weights into the workspace."""

from numba import njit

from ..._config import JIT


@njit(**JIT)
def load_rows(X, order, start, rows, dest):
    """Copy rows ``order[start : start + rows]`` of ``X`` into ``dest`` (``order`` may be
    empty for the identity)."""
    n_cols = X.shape[1]
    use_order = order.shape[0] > 0
    for r in range(rows):
        src = order[start + r] if use_order else start + r
        for j in range(n_cols):
            dest[r, j] = X[src, j]


@njit(**JIT)
def load_weights(sw, order, start, rows, dest):
    """Copy the weights of the batch into ``dest``; returns their sum."""
    use_order = order.shape[0] > 0
    total = 0.0
    for r in range(rows):
        src = order[start + r] if use_order else start + r
        dest[r] = sw[src]
        total += sw[src]
    return total


@njit(**JIT)
def load_targets(Y, sw, order, start, rows, work):
    """Targets and weights of the batch into ``work.y`` and ``work.sw``.

    Returns ``(y, w, Σw)``; ``w`` is empty for unit weights (``sw`` empty).
    """
    y = work.y[:rows]
    load_rows(Y, order, start, rows, y)
    if sw.shape[0] > 0:
        w = work.sw[:rows]
        return y, w, load_weights(sw, order, start, rows, w)
    return y, work.sw[:0], float(rows)
