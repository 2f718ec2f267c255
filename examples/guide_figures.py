"""The user guide's figures of crops, pruning, noise, dropout and ensembles, on digits.

Run with ``python examples/guide_figures.py [out_dir]`` (matplotlib needed; about a
minute on two cores). Writes ``crops.png``, ``pruning.png``, ``noise.png``,
``dropout_activations.png`` and ``ensemble_regression.png``.
"""

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import stochnet as sn

warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = X / 16
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)


def shift(images, pixels):
    """Rows of 8 × 8 images moved ``pixels`` to the right (and down), zeros shifted in."""
    out = np.zeros_like(images).reshape(-1, 8, 8)
    if pixels == 0:
        return images.copy()
    out[:, pixels:, pixels:] = images.reshape(-1, 8, 8)[:, :-pixels, :-pixels]
    return out.reshape(len(images), -1)


def crops(ax_grid, ax_curve):
    digit = np.repeat(X_test[:1].reshape(1, 8, 8), 8, axis=0)
    cropped = sn.augment.random_crop(digit, 8, seed=0, padding=1)
    for k, ax in enumerate(ax_grid):
        ax.imshow(cropped[k], cmap="gray_r")
        ax.set_axis_off()
    plain = sn.MLPClassifier((128,), max_iter=200, random_state=0).fit(X_train, y_train)
    augmented = sn.MLPClassifier(
        (128,),
        max_iter=200,
        random_state=0,
        augment=sn.RandomCrop(8, padding=1, image_shape=(8, 8)),
    ).fit(X_train, y_train)
    shifts = [0, 1, 2]
    for model, label in ((plain, "no augmentation"), (augmented, "RandomCrop(8, padding=1)")):
        accuracy = [model.score(shift(X_test, s), y_test) for s in shifts]
        ax_curve.plot(shifts, accuracy, "o-", label=label)
    ax_curve.set(
        xlabel="test images shifted by (pixels)",
        ylabel="test accuracy",
        title="random crops buy robustness to shifts",
    )
    ax_curve.legend()


def pruning(ax_mask, ax_curve):
    model = sn.MLPClassifier((64,), prune=0.8, max_iter=60, random_state=0).fit(X_train, y_train)
    ax_mask.imshow(model.masks_[0], cmap="gray_r", aspect="auto", interpolation="nearest")
    ax_mask.set(
        title="random mask, 80 % pruned (layer 1)", xlabel="hidden unit", ylabel="input pixel"
    )
    amounts = [0.0, 0.5, 0.8, 0.9, 0.95]
    dense = sn.MLPClassifier((64,), max_iter=60, random_state=0).fit(X_train, y_train)
    random_acc, magnitude_acc = [], []
    for amount in amounts:
        at_init = sn.MLPClassifier((64,), prune=amount or None, max_iter=60, random_state=0)
        random_acc.append(at_init.fit(X_train, y_train).score(X_test, y_test))
        pruned = sn.MLPClassifier((64,), max_iter=60, random_state=0).fit(X_train, y_train)
        if amount:
            pruned.prune_weights(amount, method="magnitude")
        magnitude_acc.append(pruned.score(X_test, y_test))
    ax_curve.plot(amounts, random_acc, "o-", label="random, at init (trained sparse)")
    ax_curve.plot(amounts, magnitude_acc, "s-", label="magnitude, after training")
    ax_curve.axhline(dense.score(X_test, y_test), color="gray", ls=":", label="dense")
    ax_curve.set(
        xlabel="fraction of weights pruned",
        ylabel="test accuracy",
        title="θ ⊙ M: accuracy against sparsity",
    )
    ax_curve.legend()


def noise(ax_images, ax_curve):
    rng = np.random.default_rng(0)
    digit = X_test[0]
    for ax, std in zip(ax_images, (0.0, 0.2, 0.4, 0.8), strict=True):
        ax.imshow((digit + std * rng.standard_normal(64)).reshape(8, 8), cmap="gray_r")
        ax.set_title(f"σ = {std}")
        ax.set_axis_off()
    stds = [0.0, 0.2, 0.4, 0.6, 0.8]
    for train_std in (0.0, 0.3):
        model = sn.MLPClassifier((64,), input_noise=train_std, max_iter=60, random_state=0)
        model.fit(X_train, y_train)
        accuracy = [
            model.score(X_test + s * rng.standard_normal(X_test.shape), y_test) for s in stds
        ]
        ax_curve.plot(stds, accuracy, "o-", label=f"trained with input_noise={train_std}")
    ax_curve.set(
        xlabel="Gaussian noise σ on the test inputs",
        ylabel="test accuracy",
        title="noise injection",
    )
    ax_curve.legend()


def dropout(ax_hist, ax_scatter):
    model = sn.MLPClassifier((64,), dropout=0.5, max_iter=60, random_state=0)
    model.fit(X_train, y_train)
    hidden = np.maximum(X_test @ model.coefs_[0] + model.intercepts_[0], 0.0)  # test mode
    draws = np.stack(
        [
            hidden * sn.random.dropout_mask(hidden.shape, 0.5, seed=1, step=k) / 0.5
            for k in range(200)
        ]
    )
    unit = int(np.argmax(hidden.mean(0)))
    ax_hist.hist(
        draws[:, :, unit].ravel(),
        bins=40,
        alpha=0.6,
        density=True,
        label="train mode (inverted dropout)",
    )
    ax_hist.hist(hidden[:, unit], bins=40, alpha=0.6, density=True, label="test mode")
    ax_hist.set(
        xlabel=f"activation of hidden unit {unit}",
        ylabel="density",
        title="one unit over inputs and masks",
    )
    ax_hist.legend()
    ax_scatter.scatter(hidden.ravel()[::7], draws.mean(0).ravel()[::7], s=3, alpha=0.4)
    top = hidden.max()
    ax_scatter.plot([0, top], [0, top], color="gray", ls=":")
    ax_scatter.set(
        xlabel="test-mode activation h",
        ylabel="mean over 200 masks of m·h / (1-p)",
        title="inverted dropout keeps E[activation]",
    )


def ensemble(ax):
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 1000)
    std = 0.1 + 0.3 * (x > 0) * np.abs(x) / 3
    t = np.sin(x) + std * rng.standard_normal(x.size)
    member = sn.MLPRegressor(
        hidden_layer_sizes=(64, 64), loss="gaussian_nll", learning_rate_init=0.003, max_iter=200
    )
    model = sn.EnsembleRegressor(member, n_estimators=5, random_state=0).fit(x[:, None], t)
    grid = np.linspace(-6, 6, 400)
    result = model.predict_uncertainty(grid[:, None])
    ax.scatter(x, t, s=2, color="gray", alpha=0.4, label="training data")
    mean = result.mean
    for part, label in ((result.total, "±2 √total"), (result.aleatoric, "±2 √aleatoric")):
        ax.fill_between(
            grid, mean - 2 * np.sqrt(part), mean + 2 * np.sqrt(part), alpha=0.35, label=label
        )
    for sign in (-1, 1):
        ax.plot(
            grid,
            mean + sign * 2 * np.sqrt(result.epistemic),
            color="tab:green",
            ls="--",
            label="±2 √epistemic" if sign > 0 else None,
        )
    ax.plot(grid, result.mean, color="black", label="ensemble mean")
    ax.set(
        xlabel="x",
        ylabel="y",
        ylim=(-4, 4),
        title="deep ensemble: total variance = aleatoric + epistemic",
    )
    ax.legend(loc="lower left")


def main(out_dir="."):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig = plt.figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=(1, 1.3))
    crops(left.subplots(2, 4).ravel(), right.subplots())
    left.suptitle("random crops of one digit (padding 1)")
    fig.savefig(out / "crops.png", dpi=110)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    pruning(*axes)
    fig.savefig(out / "pruning.png", dpi=110)
    fig = plt.figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=(1, 1.3))
    noise(left.subplots(2, 2).ravel(), right.subplots())
    fig.savefig(out / "noise.png", dpi=110)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    dropout(*axes)
    fig.savefig(out / "dropout_activations.png", dpi=110)
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    ensemble(ax)
    fig.savefig(out / "ensemble_regression.png", dpi=110)


if __name__ == "__main__":
    main(*sys.argv[1:])
