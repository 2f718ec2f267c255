"""The Jensen gap of dropout: MC average versus the weight-scaled network.
``python examples/diagnostics/dropout_gap.py [out_dir]``."""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from _common import digits, save

import stochnet as sn
from stochnet.diagnostics import dropout_gap

X, y = digits()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model = sn.MLPClassifier((256, 256), dropout=0.3, random_state=0).fit(X, y)
fig, ax = plt.subplots(figsize=(6, 4))
gap = dropout_gap(model, X, mc_samples=100, random_state=0)
gap.plot(ax)
ax.set_title("digits, dropout 0.3: Jensen gap per class (±2 s.e.)")
save(fig, "dropout_gap")
print(
    "Jensen gap per class:",
    np.array2string(gap.gap, precision=1),
    "s.e. about",
    f"{gap.gap_standard_error.mean():.1e}",
)
print(
    "added variance per layer:",
    gap.added_variance.round(3),
    "first-order theory:",
    gap.added_variance_theory.round(3),
)
