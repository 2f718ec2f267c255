"""Why attention divides by √d_k: the geometry of random high-dimensional vectors.

:func:`attention_scaling` measures it on random vectors, :func:`head_logits` on the
queries and keys of a fitted attention estimator.

For ``q, k`` with i.i.d. unit-variance entries, ``q·k`` is a sum of ``d_k`` unit-variance
products: its variance is ``d_k``, so unscaled attention logits grow with the head
width and the softmax saturates (one key takes all the weight, gradients vanish).
Dividing by ``√d_k`` brings the variance back to 1. Normalised, two random vectors are
nearly orthogonal: their cosine similarity has mean 0 and standard deviation ``1/√d``.
"""

from dataclasses import dataclass

import numpy as np

from .._plotting import new_axes
from .._validation import check_shape
from ..random import derive_key, normal

__all__ = ["AttentionScaling", "HeadLogits", "attention_scaling", "head_logits"]


@dataclass
class AttentionScaling:
    """Logit statistics per head width ``d_k``, measured and predicted.

    Attributes
    ----------
    d_k : ndarray
    logit_variance, scaled_logit_variance : ndarray
        Variance of ``q·k`` and of ``q·k / √d_k`` (theory: ``d_k`` and 1).
    cosine_std : ndarray
        Standard deviation of the cosine similarity of ``q`` and ``k`` (theory ``1/√d_k``).
    entropy, scaled_entropy : ndarray
        Mean softmax entropy over ``n_keys`` keys, in nats (``log n_keys`` is uniform
        attention, 0 is one-hot).
    max_weight, scaled_max_weight : ndarray
        Mean largest attention weight (saturation: close to 1).
    n_keys : int
    """

    d_k: np.ndarray
    logit_variance: np.ndarray
    scaled_logit_variance: np.ndarray
    cosine_std: np.ndarray
    entropy: np.ndarray
    scaled_entropy: np.ndarray
    max_weight: np.ndarray
    scaled_max_weight: np.ndarray
    n_keys: int

    def plot(self, ax=None):
        """Logit variance and softmax entropy against ``d_k``, scaled and unscaled."""
        ax = new_axes(ax)
        ax.loglog(self.d_k, self.logit_variance, "o-", label="Var(q·k)")
        ax.loglog(self.d_k, self.scaled_logit_variance, "o-", label="Var(q·k / √d_k)")
        ax.loglog(self.d_k, self.d_k, "--", lw=0.8, color="0.4", label="d_k, 1 (theory)")
        ax.loglog(self.d_k, np.ones_like(self.d_k, dtype=float), "--", lw=0.8, color="0.4")
        ax.set_xlabel("d_k")
        ax.set_ylabel("logit variance")
        twin = ax.twinx()
        twin.semilogx(self.d_k, self.entropy, "s:", color="C3", label="entropy, unscaled")
        twin.semilogx(self.d_k, self.scaled_entropy, "s:", color="C2", label="entropy, scaled")
        twin.axhline(np.log(self.n_keys), color="0.7", lw=0.8)
        twin.set_ylabel(f"softmax entropy over {self.n_keys} keys [nats]")
        lines = ax.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], loc="center left", fontsize=8)
        return ax


def attention_scaling(d_k_values=(16, 64, 256), n_samples=4000, n_keys=32, random_state=None):
    """Measure ``q·k`` for random unit-variance ``q, k`` at each head width ``d_k``.

    Parameters
    ----------
    d_k_values : sequence of int, default=(16, 64, 256)
    n_samples : int, default=4000
        Query–key pairs per width (and queries for the softmax statistics).
    n_keys : int, default=32
        Keys each query attends over for the entropy and saturation.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState

    Returns
    -------
    AttentionScaling

    Examples
    --------
    >>> from stochnet.diagnostics import attention_scaling
    >>> r = attention_scaling((64,), n_samples=2000, random_state=0)
    >>> bool(abs(r.logit_variance[0] / 64 - 1) < 0.1)
    True
    """
    d_k = np.asarray(d_k_values)
    if d_k.ndim != 1 or d_k.dtype.kind not in "iu" or np.any(d_k < 1):
        raise ValueError(f"d_k_values must be positive ints, got {d_k_values!r}.")
    n_samples = check_shape(n_samples, "n_samples")[0]
    n_keys = check_shape(n_keys, "n_keys")[0]
    if n_samples < 2 or n_keys < 2:
        raise ValueError("n_samples and n_keys must be at least 2.")
    key = derive_key(random_state)
    stats = {
        name: np.empty(d_k.size)
        for name in AttentionScaling.__dataclass_fields__
        if name not in ("d_k", "n_keys")
    }
    for i, d in enumerate(d_k.tolist()):
        q = normal((n_samples, d), key, stream="user", step=3 * i)
        k = normal((n_samples, n_keys, d), key, stream="user", step=3 * i + 1)
        logits = np.einsum("nd,ntd->nt", q, k)
        pair = logits[:, 0]
        stats["logit_variance"][i] = pair.var()
        stats["scaled_logit_variance"][i] = (pair / np.sqrt(d)).var()
        cosine = pair / (np.linalg.norm(q, axis=1) * np.linalg.norm(k[:, 0], axis=1))
        stats["cosine_std"][i] = cosine.std()
        for prefix, scale in (("", 1.0), ("scaled_", 1 / np.sqrt(d))):
            weights = _softmax(logits * scale)
            entropy = -(weights * np.log(np.clip(weights, 1e-300, None))).sum(axis=1)
            stats[prefix + "entropy"][i] = entropy.mean()
            stats[prefix + "max_weight"][i] = weights.max(axis=1).mean()
    return AttentionScaling(d_k=d_k, n_keys=n_keys, **stats)


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@dataclass
class HeadLogits:
    """Attention logits of a fitted model, per layer and head.

    Attributes
    ----------
    variance : ndarray (n_layers, n_heads)
        Variance of the logits ``scale · q·k`` over every allowed query–key pair.
    predicted_variance : ndarray (n_layers, n_heads)
        ``scale² · d_k · mean(q²) · mean(k²)``: the variance if ``q`` and ``k`` were
        independent with zero-mean entries (the random-vector theory; at ``scale =
        1/√d_k`` and unit-variance entries it is 1). A measured variance far above it
        means the head has learned aligned queries and keys.
    entropy : ndarray (n_layers, n_heads)
        Mean softmax entropy of the attention rows, in nats.
    max_entropy : float
        ``log T``: uniform attention over every token.
    scale : float
    d_k : int
    """

    variance: np.ndarray
    predicted_variance: np.ndarray
    entropy: np.ndarray
    max_entropy: float
    scale: float
    d_k: int

    def plot(self, ax=None):
        """Measured against predicted logit variance, one bar pair per head."""
        ax = new_axes(ax)
        n_layers, n_heads = self.variance.shape
        x = np.arange(n_layers * n_heads)
        ax.bar(x - 0.2, self.variance.ravel(), 0.4, label="measured Var(scale · q·k)")
        ax.bar(
            x + 0.2,
            self.predicted_variance.ravel(),
            0.4,
            label="scale² d_k E[q²] E[k²] (independent q, k)",
        )
        ax.set_xticks(x, [f"L{i}H{h}" for i in range(n_layers) for h in range(n_heads)])
        ax.set_ylabel("logit variance")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        return ax


def head_logits(estimator, X):
    """Measure each head's attention logits on ``X`` with a fitted attention estimator.

    Parameters
    ----------
    estimator : fitted AttentionClassifier or AttentionRegressor
    X : array-like accepted by the estimator's ``predict``

    Returns
    -------
    HeadLogits

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet import AttentionRegressor
    >>> from stochnet.diagnostics import head_logits
    >>> X = np.random.default_rng(0).normal(size=(50, 6, 2))
    >>> reg = AttentionRegressor(d_model=8, n_heads=2, n_layers=1, d_ff=16, max_iter=2,
    ...                          random_state=0)
    >>> r = head_logits(reg.fit(X, X.sum((1, 2))), X)
    >>> r.variance.shape, r.d_k
    ((1, 2), 4)
    """
    if not hasattr(estimator, "attention_weights"):
        raise TypeError(
            f"estimator must be a fitted attention estimator, got {type(estimator).__name__}."
        )
    tokens = estimator._network_data(X)
    net = estimator.network_
    probs, q, k = net.attention_weights(tokens, return_queries_keys=True)
    plan = net.plan
    n, n_layers, n_heads, length, d_k = q.shape
    q, k = q.astype(np.float64), k.astype(np.float64)
    logits = plan.scale * np.einsum("blhid,blhjd->blhij", q, k)
    lengths = tokens.lengths if tokens.lengths.size else np.full(n, length)
    j = np.arange(length)
    allowed = np.broadcast_to(j[None, None, :] < lengths[:, None, None], (n, length, length))
    if plan.causal:
        allowed = allowed & (j[:, None] >= j[None, :])[None]
    allowed = np.broadcast_to(allowed[:, None, None], logits.shape)
    valid_query = np.broadcast_to((j[None, :] < lengths[:, None])[:, None, None, :], q.shape[:4])
    variance = np.empty((n_layers, n_heads))
    predicted = np.empty((n_layers, n_heads))
    for layer in range(n_layers):
        for head in range(n_heads):
            values = logits[:, layer, head][allowed[:, layer, head]]
            variance[layer, head] = values.var()
            rows = valid_query[:, layer, head]
            q2 = (q[:, layer, head][rows] ** 2).mean()
            k2 = (k[:, layer, head][rows] ** 2).mean()
            predicted[layer, head] = plan.scale**2 * d_k * q2 * k2
    p = probs.astype(np.float64)
    row_entropy = -(p * np.log(np.where(p > 0, p, 1.0))).sum(-1)
    has_keys = allowed.any(-1)
    entropy = np.array(
        [
            [row_entropy[:, i, h][has_keys[:, i, h]].mean() for h in range(n_heads)]
            for i in range(n_layers)
        ]
    )
    return HeadLogits(
        variance=variance,
        predicted_variance=predicted,
        entropy=entropy,
        max_entropy=float(np.log(length)),
        scale=float(plan.scale),
        d_k=d_k,
    )
