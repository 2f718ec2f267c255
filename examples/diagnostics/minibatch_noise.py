"""Minibatch gradient noise: σ²/m for i.i.d. batches, the floor ρσ² for correlated ones.
``python examples/diagnostics/minibatch_noise.py [out_dir]``."""

import warnings

import matplotlib.pyplot as plt
from _common import digits, save

import stochnet as sn
from stochnet.diagnostics import minibatch_noise

X, y = digits()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model = sn.MLPClassifier((256, 256), random_state=0).fit(X, y)
sizes = (1, 2, 4, 8, 16, 32, 64, 128)
fig, ax = plt.subplots(figsize=(6, 4))
noise = minibatch_noise(model, X, y, batch_sizes=sizes, random_state=0)
noise.plot(ax)
grouped = minibatch_noise(model, X, y, batch_sizes=sizes, groups=y, random_state=0)
ax.loglog(grouped.batch_sizes, grouped.gradient_variance, "s", label="same-class batches")
ax.loglog(grouped.batch_sizes, grouped.gradient_theory, "--", lw=0.8, color="0.4")
ax.legend(loc="best", fontsize=8)
ax.set_title("digits: minibatch noise at the fitted weights")
save(fig, "minibatch_noise")
print(
    f"i.i.d. slope {noise.slope:.3f}, B_noise {noise.noise_scale:.1f}; same-class floor "
    f"{grouped.floor:.3g} vs ρσ² {grouped.floor_theory:.3g}"
)
