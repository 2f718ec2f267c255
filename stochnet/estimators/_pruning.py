"""Pruning a whole network, as the estimators' ``prune`` parameters and
``prune_weights`` ask."""

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


def settings(params):
    """``(prune, prune_method, prune_scope)`` of a parameter record."""
    return (params.prune, params.prune_method, params.prune_scope)


def prune(est, amount, method, scope):
    """Prune ``est``'s network to a total ``amount``; sets ``masks_`` and ``sparsity_``."""
    net = est._network
    keep = pruning_mask(net, amount, method, scope, est._keys["prune"])
    net.set_mask(keep)
    est.masks_ = [
        m.reshape(w.shape)
        for m, w in zip(
            np.split(keep, np.cumsum([w.size for w in net.coefs])[:-1]), net.coefs, strict=True
        )
    ]
    est.sparsity_ = float(1.0 - keep.mean())


def prune_as_asked(est, params):
    """Prune as ``params`` say, and remember that they did (see
    :func:`prune_on_continuation`)."""
    est._pruned_with = settings(params)
    prune(est, *est._pruned_with)


def prune_on_continuation(est, params):
    """``prune`` (pruning the weights a fit starts from) takes effect on a warm start
    when it or its method or scope changed: the network is pruned, or unpruned with
    ``prune=None``, before training on."""
    if params.prune_at != "init":
        return
    asked = None if params.prune is None else settings(params)
    pruned = getattr(est, "_pruned_with", asked)  # files of earlier versions: unknown
    if asked == pruned:
        return
    if asked is None:
        est._network.set_mask(None)
        est.masks_, est.sparsity_, est._pruned_with = None, 0.0, None
    elif pruned is None or asked[0] > pruned[0]:
        prune_as_asked(est, params)
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
