"""Why attention divides by √d_k: random vectors, then the heads of a fitted model.
``python examples/diagnostics/attention_scaling.py [out_dir]``."""

import warnings

import matplotlib.pyplot as plt
from _common import save

from stochnet import AttentionClassifier
from stochnet.datasets import make_marked_tokens
from stochnet.diagnostics import attention_scaling, head_logits

fig, ax = plt.subplots(figsize=(7, 4))
result = attention_scaling((4, 16, 64, 256, 1024), random_state=0)
result.plot(ax)
ax.set_title("random q, k: logit variance and softmax entropy over 32 keys")
save(fig, "attention_scaling")
print("Var(q·k):", result.logit_variance.round(1), "scaled:", result.scaled_logit_variance.round(3))
print("entropy unscaled:", result.entropy.round(2), "scaled:", result.scaled_entropy.round(2))

X, y = make_marked_tokens(3000, random_state=0)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, epochs in zip(axes, (1, 40), strict=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = AttentionClassifier(
            32, 4, 2, 64, batch_size=64, learning_rate_init=3e-3, max_iter=epochs, random_state=0
        ).fit(X, y)
    heads = head_logits(clf, X[:500])
    heads.plot(ax)
    ax.set_title(f"marked tokens, {epochs} epoch(s): accuracy {clf.score(X, y):.2f}")
    print(
        f"{epochs:2d} epochs: logit variance per head {heads.variance.round(2).tolist()}, "
        f"independent-q,k theory {heads.predicted_variance.round(2).tolist()}, entropy "
        f"{heads.entropy.round(2).tolist()} of {heads.max_entropy:.2f}"
    )
save(fig, "head_logits")
