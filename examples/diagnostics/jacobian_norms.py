"""Input–output Jacobian spectral norms of digit classifiers under dropout, L2 and
pruning. ``python examples/diagnostics/jacobian_norms.py [out_dir]``."""

import warnings

import matplotlib.pyplot as plt
from _common import digits, save

import stochnet as sn
from stochnet.diagnostics import jacobian_norms

X, y = digits()
models = {
    "plain": sn.MLPClassifier((256, 256), random_state=0),
    "dropout 0.3": sn.MLPClassifier((256, 256), dropout=0.3, random_state=0),
    "alpha 1.0 (L2)": sn.MLPClassifier((256, 256), alpha=1.0, random_state=0),
    "80% pruned": sn.MLPClassifier((256, 256), prune=0.8, random_state=0),
}
fig, ax = plt.subplots(figsize=(6, 4))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for name, model in models.items():
        norms = jacobian_norms(model.fit(X, y), X, random_state=0)
        norms.plot(ax, label=name)
        print(f"{name:15s} ‖J‖₂ quantiles 5/50/95%: {norms.quantiles().round(2)}")
ax.set_title("digits, 256-256 MLP: input–logit Jacobian norms")
save(fig, "jacobian_norms")
