"""Signal propagation and gradient-estimator variance, plotted.

Run with ``python examples/diagnostics_plots.py [out_dir]``; writes
``signal_propagation.png``, ``gradient_estimators.png``, ``attention_scaling.png`` and
``jacobian_norms.png``, ``dropout_gap.png`` and ``minibatch_noise.png`` (matplotlib
needed).
"""

import sys
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

import stochnet as sn
from stochnet.diagnostics import (
    attention_scaling,
    dropout_gap,
    gradient_estimators,
    jacobian_norms,
    minibatch_noise,
    signal_propagation,
)


def main(out_dir="."):
    out = Path(out_dir)
    fig, ax = plt.subplots(figsize=(7, 4))
    for init in ("he_normal", ("uniform", 0.01), ("uniform", 0.2)):
        result = signal_propagation(depth=50, width=256, init=init, random_state=0)
        result.plot(ax)
        print(
            f"{init!s:22s} layer 50 forward {result.forward[-1]:.3g}, "
            f"theory {result.theory[-1]:.3g}, input gradient {result.backward[0]:.3g}"
        )
    ax.set_title("ReLU, width 256: mean square per layer (dashed: mean-field theory)")
    fig.tight_layout()
    fig.savefig(out / "signal_propagation.png", dpi=100)

    fig, ax = plt.subplots(figsize=(6, 4))
    result = gradient_estimators("quadratic", mu=2.0, sigma=1.0, random_state=0)
    result.plot(ax)
    ax.set_title("∇μ E[x²], x ~ N(2, 1): variance of each estimator (dashed: exact)")
    fig.tight_layout()
    fig.savefig(out / "gradient_estimators.png", dpi=100)
    for name, variance in result.variance.items():
        print(f"{name:26s} variance at m = {result.sample_sizes.tolist()}: {variance.round(4)}")

    fig, ax = plt.subplots(figsize=(7, 4))
    result = attention_scaling((4, 16, 64, 256, 1024), random_state=0)
    result.plot(ax)
    ax.set_title("random q, k: logit variance and softmax entropy over 32 keys")
    fig.tight_layout()
    fig.savefig(out / "attention_scaling.png", dpi=100)
    print(
        "Var(q·k):",
        result.logit_variance.round(1),
        "scaled:",
        result.scaled_logit_variance.round(3),
    )
    print("entropy unscaled:", result.entropy.round(2), "scaled:", result.scaled_entropy.round(2))

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    fig, ax = plt.subplots(figsize=(6, 4))
    models = {
        "plain": sn.MLPClassifier((256, 256), random_state=0),
        "dropout 0.3": sn.MLPClassifier((256, 256), dropout=0.3, random_state=0),
        "alpha 1.0 (L2)": sn.MLPClassifier((256, 256), alpha=1.0, random_state=0),
        "80% pruned": sn.MLPClassifier((256, 256), prune=0.8, random_state=0),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, model in models.items():
            norms = jacobian_norms(model.fit(X, y), X, random_state=0)
            norms.plot(ax, label=name)
            print(f"{name:15s} ‖J‖₂ quantiles 5/50/95%: {norms.quantiles().round(2)}")
    ax.set_title("digits, 256-256 MLP: input–logit Jacobian norms")
    fig.tight_layout()
    fig.savefig(out / "jacobian_norms.png", dpi=100)

    fig, ax = plt.subplots(figsize=(6, 4))
    gap = dropout_gap(models["dropout 0.3"], X, mc_samples=100, random_state=0)
    gap.plot(ax)
    ax.set_title("digits, dropout 0.3: Jensen gap per class (±2 s.e.)")
    fig.tight_layout()
    fig.savefig(out / "dropout_gap.png", dpi=100)
    print("Jensen gap per class:", np.array2string(gap.gap, precision=1), "s.e. about",
          f"{gap.gap_standard_error.mean():.1e}")  # fmt: skip
    print("added variance per layer:", gap.added_variance.round(3),
          "first-order theory:", gap.added_variance_theory.round(3))  # fmt: skip

    fig, ax = plt.subplots(figsize=(6, 4))
    noise = minibatch_noise(models["plain"], X, y, batch_sizes=(1, 2, 4, 8, 16, 32, 64, 128),
                            random_state=0)  # fmt: skip
    noise.plot(ax)
    groups = y  # batches drawn from one digit class: correlated rows
    grouped = minibatch_noise(models["plain"], X, y, batch_sizes=(1, 2, 4, 8, 16, 32, 64, 128),
                              groups=groups, random_state=0)  # fmt: skip
    ax.loglog(grouped.batch_sizes, grouped.gradient_variance, "s", label="same-class batches")
    ax.loglog(grouped.batch_sizes, grouped.gradient_theory, "--", lw=0.8, color="0.4")
    ax.legend(loc="best", fontsize=8)
    ax.set_title("digits: minibatch noise at the fitted weights")
    fig.tight_layout()
    fig.savefig(out / "minibatch_noise.png", dpi=100)
    print(
        f"i.i.d. slope {noise.slope:.3f}, B_noise {noise.noise_scale:.1f}; same-class floor "
        f"{grouped.floor:.3g} vs ρσ² {grouped.floor_theory:.3g}"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
