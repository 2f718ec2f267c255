"""Pruning masks for a whole network, as the estimators' ``prune`` parameters ask."""

import numpy as np

from ..prune import magnitude_mask, random_mask
from ..random import permutation


def pruning_mask(network, amount, method, scope, key):
    """Flat keep-mask over ``network.theta[:n_coef]`` pruning a total ``amount``.

    Weights already pruned (``network.mask``) stay pruned, so the sparsity never goes
    down: magnitude pruning ranks them first (they are zero), random pruning draws the
    extra weights among the kept ones.
    ``scope="layer"`` prunes ``amount`` of every weight matrix, ``"global"`` of all.
    """
    coefs = network.coefs
    previous = network.mask.astype(bool) if network.mask.shape[0] else None
    if method == "magnitude":
        masks = magnitude_mask([w.copy() for w in coefs], amount, scope)
        keep = np.concatenate([m.ravel() for m in masks])
        # A smaller amount than before (or ties among zeros) must not revive a weight.
        return keep if previous is None else keep & previous
    groups = [np.arange(w.size) + off for w, off in zip(coefs, _offsets(coefs), strict=True)]
    if scope == "global":
        groups = [np.arange(network.plan.n_coef)]
    keep = np.ones(network.plan.n_coef, dtype=bool) if previous is None else previous.copy()
    for step, idx in enumerate(groups):
        target = round(amount * idx.size)
        if previous is None:
            keep[idx] = random_mask(idx.size, amount, key, step=step).ravel()
            continue
        alive = idx[keep[idx]]
        extra = target - (idx.size - alive.size)
        if extra > 0:
            chosen = permutation(alive.size, key, stream="prune", step=1000 + step)[:extra]
            keep[alive[chosen]] = False
    return keep


def _offsets(coefs):
    return np.concatenate(([0], np.cumsum([w.size for w in coefs])[:-1]))
