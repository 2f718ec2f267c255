"""Plain NumPy float64 references for every kernel; no stochnet code is used here.

Kept deliberately naive: the point is to be obviously right, not fast.
"""

import math

import numpy as np
from scipy.special import erf, expit, log_softmax, softmax

MASK32 = 0xFFFFFFFF


# --------------------------------------------------------------------------- RNG


def philox4x32_10(counter, key):
    """Philox4x32-10 on Python ints (Salmon et al. 2011, Random123's philox.h)."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r:
            k0 = (k0 + 0x9E3779B9) & MASK32
            k1 = (k1 + 0xBB67AE85) & MASK32
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32
    return c0, c1, c2, c3


def words(key, stream, step, indices):
    """The 32-bit word at each counter index (lane ``i % 4`` of block ``i // 4``)."""
    key = int(key)
    out = []
    for i in indices:
        block = int(i) // 4
        w = philox4x32_10(
            (block & MASK32, block >> 32, int(step) & MASK32, int(stream) & MASK32),
            (key & MASK32, key >> 32),
        )
        out.append(w[int(i) % 4])
    return np.array(out, dtype=np.uint64)


def uniform(key, stream, step, offset, n, dtype=np.float64):
    w = words(key, stream, step, range(offset, offset + n)).astype(np.float64)
    if np.dtype(dtype) == np.float32:
        return ((np.floor(w / 512.0) + 0.5) * 2.0**-23).astype(np.float32)
    return (w + 0.5) * 2.0**-32


def normal(key, stream, step, offset, n):
    """Box-Muller on lanes (0, 1) and (2, 3) of each block: ``√(-2 log u₁)`` times
    ``cos θ`` or ``sin θ``, ``θ = 2π u₂``. The angle is reduced exactly from the word
    (quadrant = top two bits) before libm's cos/sin, so near zero crossings the
    reference is accurate to an ulp, not to the rounding of ``2π u₂``."""
    out = np.empty(n)
    for k, i in enumerate(range(offset, offset + n)):
        pair = (i // 2) * 2
        w1, w2 = (int(w) for w in words(key, stream, step, [pair, pair + 1]))
        r = math.sqrt(-2.0 * math.log((w1 + 0.5) * 2.0**-32))
        phi = ((w2 & (2**30 - 1)) + 0.5) * 2.0**-30 * (math.pi / 2)
        c, s = math.cos(phi), math.sin(phi)
        c, s = ((c, s), (-s, c), (-c, -s), (s, -c))[w2 >> 30]
        out[k] = r * (c if i % 2 == 0 else s)
    return out


def keep_mask(key, stream, step, offset, n, rate):
    threshold = round(rate * 2.0**32)
    return words(key, stream, step, range(offset, offset + n)) >= threshold


def permutation(key, stream, step, n):
    out = list(range(n))
    for i in range(n - 1, 0, -1):
        hi, lo = words(key, stream, step, [2 * i, 2 * i + 1])
        j = ((int(hi) << 32) | int(lo)) % (i + 1)
        out[i], out[j] = out[j], out[i]
    return np.array(out)


# ------------------------------------------------------------------- activations


def activation(name, z):
    return {
        "identity": lambda: z,
        "logistic": lambda: expit(z),
        "tanh": lambda: np.tanh(z),
        "relu": lambda: np.maximum(z, 0.0),
        "leaky_relu": lambda: np.where(z > 0, z, 0.01 * z),
        "gelu": lambda: 0.5 * z * (1 + erf(z / math.sqrt(2))),
        "softplus": lambda: np.logaddexp(0.0, z),
    }[name]()


def activation_derivative(name, z):
    return {
        "identity": lambda: np.ones_like(z),
        "logistic": lambda: expit(z) * (1 - expit(z)),
        "tanh": lambda: 1 - np.tanh(z) ** 2,
        "relu": lambda: (z > 0).astype(float),
        "leaky_relu": lambda: np.where(z > 0, 1.0, 0.01),
        "gelu": lambda: (
            0.5 * (1 + erf(z / math.sqrt(2))) + z * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
        ),
        "softplus": lambda: expit(z),
    }[name]()


# ------------------------------------------------------------------------ losses


def predictions(loss, z):
    if loss == "softmax_cross_entropy":
        return softmax(z, axis=1)
    if loss == "binary_cross_entropy":
        return expit(z)
    if loss == "squared_error":
        return z
    if loss == "poisson":
        return np.exp(z)
    half = z.shape[1] // 2
    return np.hstack([z[:, :half], np.logaddexp(0.0, z[:, half:]) + 1e-6])


def row_losses(loss, z, y, eps=None):
    """Per-row loss ℓ_i (see ``kernels.cpu.losses``); each ``-log p`` term of the
    cross-entropies capped at ``-log(eps)`` (float64's by default), as scikit-learn
    reports them."""
    cap = -np.log(np.finfo(np.float64).eps if eps is None else eps)
    if loss == "softmax_cross_entropy":
        return (y * np.minimum(-log_softmax(z, axis=1), cap)).sum(1)
    if loss == "binary_cross_entropy":
        terms = y * np.minimum(np.logaddexp(0.0, -z), cap)
        return (terms + (1 - y) * np.minimum(np.logaddexp(0.0, z), cap)).sum(1)
    if loss == "squared_error":
        return 0.5 * ((z - y) ** 2).sum(1)
    if loss == "poisson":
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
        return (ylogy - y * z - y + np.exp(z)).sum(1)
    half = z.shape[1] // 2
    mu, var = z[:, :half], np.logaddexp(0.0, z[:, half:]) + 1e-6
    return 0.5 * (np.log(2 * np.pi * var) + (y - mu) ** 2 / var).sum(1)


def output_delta(loss, z, y):
    """∂ℓ_i/∂z (unweighted), derived by hand for each loss."""
    if loss == "gaussian_nll":
        half = z.shape[1] // 2
        mu, s = z[:, :half], z[:, half:]
        var = np.logaddexp(0.0, s) + 1e-6
        d_mu = (mu - y) / var
        d_s = 0.5 * (1 / var - (y - mu) ** 2 / var**2) * expit(s)
        return np.hstack([d_mu, d_s])
    p = predictions(loss, z)
    if loss == "softmax_cross_entropy":
        return p * y.sum(1, keepdims=True) - y
    return p - y


# ------------------------------------------------------------------------- MLP


def mlp_forward(coefs, intercepts, x, activation_name, masks=None):
    """Pre-activations ``zs`` and layer inputs ``xs`` (after dropout) of a batch."""
    xs, zs = [x], []
    for i, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
        z = xs[-1] @ w + b
        zs.append(z)
        if i < len(coefs) - 1:
            a = activation(activation_name, z)
            if masks is not None and masks[i] is not None:
                a = a * masks[i]
            xs.append(a)
    return xs, zs


def mlp_loss_grad(
    coefs, intercepts, x, y, activation_name, loss, sw=None, alpha=0.0, l1=0.0, masks=None
):
    """Regularised weighted mean loss and gradients (scikit-learn's scaling)."""
    n = x.shape[0]
    sw = np.ones(n) if sw is None else sw
    xs, zs = mlp_forward(coefs, intercepts, x, activation_name, masks)
    sw_sum = sw.sum()
    penalty = sum(0.5 * alpha * (w**2).sum() + l1 * np.abs(w).sum() for w in coefs)
    value = ((sw * row_losses(loss, zs[-1], y)).sum() + penalty) / sw_sum
    delta = output_delta(loss, zs[-1], y) * sw[:, None]
    g_coefs, g_intercepts = [None] * len(coefs), [None] * len(coefs)
    for i in range(len(coefs) - 1, -1, -1):
        g_coefs[i] = (xs[i].T @ delta + alpha * coefs[i] + l1 * np.sign(coefs[i])) / sw_sum
        g_intercepts[i] = delta.sum(0) / sw_sum
        if i > 0:
            delta = delta @ coefs[i].T
            if masks is not None and masks[i - 1] is not None:
                delta = delta * masks[i - 1]
            delta = delta * activation_derivative(activation_name, zs[i - 1])
    return value, g_coefs, g_intercepts


# ------------------------------------------------------------------- optimisers


def adam_update(params, grads, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """scikit-learn's AdamOptimizer update for step ``t`` (from 1), in place."""
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    for p, g, mi, vi in zip(params, grads, m, v, strict=True):
        mi[...] = beta1 * mi + (1 - beta1) * g
        vi[...] = beta2 * vi + (1 - beta2) * g**2
        p -= lr_t * mi / (np.sqrt(vi) + eps)


def sgd_update(params, grads, velocities, lr, momentum, nesterov):
    """scikit-learn's SGDOptimizer update, in place."""
    for p, g, vel in zip(params, grads, velocities, strict=True):
        vel[...] = momentum * vel - lr * g
        p += momentum * vel - lr * g if nesterov else vel


# -------------------------------------------------------------- augment, prune


def crop(images, offsets, size, padding, mode):
    """Crop ``images`` (n, H, W[, C]) at ``offsets`` (n, 2) of the padded images."""
    (h, w), (ph, pw) = size, padding
    numpy_mode = {"constant": "constant", "reflect": "reflect", "edge": "edge"}[mode]
    pad = [(0, 0), (ph, ph), (pw, pw)] + [(0, 0)] * (images.ndim - 3)
    padded = np.pad(images, pad, mode=numpy_mode)
    return np.stack(
        [p[oy : oy + h, ox : ox + w] for p, (oy, ox) in zip(padded, offsets, strict=True)]
    )


def crop_offsets(key, step, n, range_h, range_w):
    """Offsets of samples 0..n-1: words 2s and 2s+1 of the ``"crop"`` stream (5)."""
    out = np.empty((n, 2), dtype=np.int64)
    for s in range(n):
        wy, wx = words(key, 5, step, [2 * s, 2 * s + 1])
        out[s] = (int(wy) * (range_h + 1)) >> 32, (int(wx) * (range_w + 1)) >> 32
    return out


def magnitude_keep(arrays, amount):
    """Global magnitude keep-mask over the concatenation, ties by position."""
    flat = np.concatenate([np.ravel(a) for a in arrays])
    order = sorted(range(flat.size), key=lambda i: (abs(flat[i]), i))
    keep = np.ones(flat.size, dtype=bool)
    keep[order[: round(amount * flat.size)]] = False
    return keep


# -------------------------------------------------------------------- attention


def layernorm(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    xhat = (x - mean) / np.sqrt(x.var(-1, keepdims=True) + eps)
    return xhat * gamma + beta


def layernorm_backward(x, gamma, dy, eps=1e-5):
    """``(dx, dgamma, dbeta)`` of :func:`layernorm` for upstream ``dy``."""
    mean = x.mean(-1, keepdims=True)
    rstd = 1.0 / np.sqrt(x.var(-1, keepdims=True) + eps)
    xhat = (x - mean) * rstd
    g = dy * gamma
    dx = rstd * (g - g.mean(-1, keepdims=True) - xhat * (g * xhat).mean(-1, keepdims=True))
    return dx, (dy * xhat).reshape(-1, x.shape[-1]).sum(0), dy.reshape(-1, x.shape[-1]).sum(0)


def attention_allowed(length, lengths, causal, rows):
    """Boolean ``rows × T × T`` mask of the keys each query may attend to."""
    lengths = np.full(rows, length) if lengths is None else np.asarray(lengths)
    j = np.arange(length)
    allowed = j[None, None, :] < lengths[:, None, None]
    allowed = np.broadcast_to(allowed, (rows, length, length))
    if causal:
        allowed = allowed & (j[None, :, None] >= j[None, None, :])
    return allowed


def attention(q, k, v, lengths=None, causal=False, scale=None, keep=None):
    """Multi-head SDPA on ``rows × heads × T × d_k`` arrays; returns ``(o, p)``.

    ``keep`` holds the attention-dropout factors (shape of ``p``) or is None."""
    rows, _, length, dk = q.shape
    scale = 1.0 / math.sqrt(dk) if scale is None else scale
    s = scale * np.einsum("bhid,bhjd->bhij", q, k)
    allowed = attention_allowed(length, lengths, causal, rows)[:, None]
    s = np.where(allowed, s, -np.inf)
    peak = s.max(-1, keepdims=True)
    e = np.where(allowed, np.exp(s - np.where(np.isfinite(peak), peak, 0.0)), 0.0)
    total = e.sum(-1, keepdims=True)
    p = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    pd = p if keep is None else p * keep
    return np.einsum("bhij,bhjd->bhid", pd, v), p


def attention_backward(q, k, v, do, lengths=None, causal=False, scale=None, keep=None):
    """``(dq, dk, dv)`` of :func:`attention`'s output for upstream ``do``."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    _, p = attention(q, k, v, lengths, causal, scale)
    pd = p if keep is None else p * keep
    dv = np.einsum("bhij,bhid->bhjd", pd, do)
    dp = np.einsum("bhid,bhjd->bhij", do, v)
    if keep is not None:
        dp = dp * keep
    ds = scale * p * (dp - (p * dp).sum(-1, keepdims=True))
    return np.einsum("bhij,bhjd->bhid", ds, k), np.einsum("bhij,bhid->bhjd", ds, q), dv


def split_heads(x, heads):
    rows, length, width = x.shape
    return x.reshape(rows, length, heads, width // heads).transpose(0, 2, 1, 3)


def merge_heads(x):
    rows, heads, length, dk = x.shape
    return x.transpose(0, 2, 1, 3).reshape(rows, length, heads * dk)


def pool(h, lengths, pooling):
    """Mean over the valid tokens (zeros for none) or the first token of ``h`` (B×T×d)."""
    if pooling == "first":
        return h[:, 0]
    lengths = np.full(h.shape[0], h.shape[1]) if lengths is None else np.asarray(lengths)
    valid = np.arange(h.shape[1])[None, :] < lengths[:, None]
    return (h * valid[..., None]).sum(1) / np.maximum(lengths, 1)[:, None]


def encoder_forward(params, x, cfg, lengths=None, masks=None):
    """Pre-LN encoder on ``x`` (B×T×d_in); ``params`` as ``named_parameters()``.

    ``masks[(layer, site)]`` are dropout factors (sites of ``kernels.cpu.encoder``).
    Returns the output pre-activations and a cache for :func:`encoder_backward`."""
    masks = {} if masks is None else masks
    heads = cfg["heads"]
    w_emb = params["embedding.weight"]
    if lengths is not None:
        x = x * (np.arange(x.shape[1])[None, :, None] < np.asarray(lengths)[:, None, None])
    h = np.einsum("bti,tid->btd", x, np.broadcast_to(w_emb, (x.shape[1], *w_emb.shape[1:])))
    h = h + params["embedding.position"]
    cache = {"x": x, "h": [h]}
    for layer in range(cfg["n_layers"]):
        prefix = f"layers.{layer}."
        P = {
            name[len(prefix) :]: value for name, value in params.items() if name.startswith(prefix)
        }
        d = h.shape[-1]
        u1 = layernorm(h, P["ln1.gamma"], P["ln1.beta"])
        qkv = u1 @ P["qkv.weight"] + P["qkv.bias"]
        q, k, v = (split_heads(qkv[..., i * d : (i + 1) * d], heads) for i in range(3))
        o_heads, p = attention(q, k, v, lengths, cfg["causal"], cfg["scale"], masks.get((layer, 0)))
        o = merge_heads(o_heads)
        branch = (o @ P["out.weight"] + P["out.bias"]) * masks.get((layer, 1), 1.0)
        h_mid = h + branch
        u2 = layernorm(h_mid, P["ln2.gamma"], P["ln2.beta"])
        pre = u2 @ P["ff1.weight"] + P["ff1.bias"]
        hidden = activation(cfg["activation"], pre) * masks.get((layer, 2), 1.0)
        h = h_mid + (hidden @ P["ff2.weight"] + P["ff2.bias"]) * masks.get((layer, 3), 1.0)
        cache["h"].append(h)
        cache[layer] = dict(
            P=P, u1=u1, q=q, k=k, v=v, p=p, o=o, h_mid=h_mid, u2=u2, pre=pre, hidden=hidden
        )
    pooled = pool(h, lengths, cfg["pooling"])
    uf = layernorm(pooled, params["norm.gamma"], params["norm.beta"])
    cache.update(pooled=pooled, uf=uf)
    return uf @ params["output.weight"] + params["output.bias"], cache


def encoder_backward(params, cfg, cache, dz, lengths=None, masks=None):
    """Gradients (a dict like ``params``) for output-pre-activation gradients ``dz``."""
    masks = {} if masks is None else masks
    g = {"output.weight": cache["uf"].T @ dz, "output.bias": dz.sum(0)}
    duf = dz @ params["output.weight"].T
    dpooled, g["norm.gamma"], g["norm.beta"] = layernorm_backward(
        cache["pooled"], params["norm.gamma"], duf
    )
    h_last = cache["h"][-1]
    rows, length, _ = h_last.shape
    dh = np.zeros_like(h_last)
    if cfg["pooling"] == "first":
        dh[:, 0] = dpooled
    else:
        n_valid = np.full(rows, length) if lengths is None else np.asarray(lengths)
        valid = np.arange(length)[None, :] < n_valid[:, None]
        dh = valid[..., None] * dpooled[:, None, :] / np.maximum(n_valid, 1)[:, None, None]
    for layer in range(cfg["n_layers"] - 1, -1, -1):
        c = cache[layer]
        P = c["P"]
        name = f"layers.{layer}."
        dbranch = dh * masks.get((layer, 3), 1.0)
        g[name + "ff2.weight"] = np.einsum("bti,btj->ij", c["hidden"], dbranch)
        g[name + "ff2.bias"] = dbranch.sum((0, 1))
        dhidden = dbranch @ P["ff2.weight"].T * masks.get((layer, 2), 1.0)
        dpre = dhidden * activation_derivative(cfg["activation"], c["pre"])
        g[name + "ff1.weight"] = np.einsum("bti,btj->ij", c["u2"], dpre)
        g[name + "ff1.bias"] = dpre.sum((0, 1))
        dx, g[name + "ln2.gamma"], g[name + "ln2.beta"] = layernorm_backward(
            c["h_mid"], P["ln2.gamma"], dpre @ P["ff1.weight"].T
        )
        dh = dh + dx
        dbranch = dh * masks.get((layer, 1), 1.0)
        g[name + "out.weight"] = np.einsum("bti,btj->ij", c["o"], dbranch)
        g[name + "out.bias"] = dbranch.sum((0, 1))
        do = split_heads(dbranch @ P["out.weight"].T, cfg["heads"])
        dq, dk, dv = attention_backward(
            c["q"], c["k"], c["v"], do, lengths, cfg["causal"], cfg["scale"], masks.get((layer, 0))
        )
        dqkv = np.concatenate([merge_heads(dq), merge_heads(dk), merge_heads(dv)], axis=-1)
        g[name + "qkv.weight"] = np.einsum("bti,btj->ij", c["u1"], dqkv)
        g[name + "qkv.bias"] = dqkv.sum((0, 1))
        dx, g[name + "ln1.gamma"], g[name + "ln1.beta"] = layernorm_backward(
            cache["h"][layer], P["ln1.gamma"], dqkv @ P["qkv.weight"].T
        )
        dh = dh + dx
    g["embedding.position"] = dh.sum(0)
    gw = np.einsum("bti,btd->tid", cache["x"], dh)
    g["embedding.weight"] = gw if params["embedding.weight"].shape[0] > 1 else gw.sum(0)[None]
    return g
