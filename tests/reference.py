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
    """Box-Muller on lanes (0, 1) and (2, 3) of each block."""
    out = np.empty(n)
    for k, i in enumerate(range(offset, offset + n)):
        pair = (i // 2) * 2
        u1, u2 = (words(key, stream, step, [pair, pair + 1]).astype(np.float64) + 0.5) * 2.0**-32
        r = math.sqrt(-2.0 * math.log(u1))
        out[k] = r * (math.cos(2 * math.pi * u2) if i % 2 == 0 else math.sin(2 * math.pi * u2))
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


def row_losses(loss, z, y):
    """Per-row loss ℓ_i (see ``kernels.cpu.losses``)."""
    if loss == "softmax_cross_entropy":
        return -(y * log_softmax(z, axis=1)).sum(1)
    if loss == "binary_cross_entropy":
        return (np.logaddexp(0.0, z) - y * z).sum(1)
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
