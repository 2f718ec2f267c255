"""Score-function versus reparameterisation gradients of E[x²], x ~ N(2, 1).
``python examples/diagnostics/gradient_estimators.py [out_dir]``."""

import matplotlib.pyplot as plt
from _common import save

from stochnet.diagnostics import gradient_estimators

fig, ax = plt.subplots(figsize=(6, 4))
result = gradient_estimators("quadratic", mu=2.0, sigma=1.0, random_state=0)
result.plot(ax)
ax.set_title("∇μ E[x²], x ~ N(2, 1): variance of each estimator (dashed: exact)")
save(fig, "gradient_estimators")
for name, variance in result.variance.items():
    print(f"{name:26s} variance at m = {result.sample_sizes.tolist()}: {variance.round(4)}")
