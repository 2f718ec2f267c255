"""He initialisation keeps the signal of a deep ReLU net; small and large uniform ones
do not. ``python examples/diagnostics/signal_propagation.py [out_dir]``."""

import matplotlib.pyplot as plt
from _common import save

from stochnet.diagnostics import signal_propagation

fig, ax = plt.subplots(figsize=(7, 4))
for init in ("he_normal", ("uniform", 0.01), ("uniform", 0.2)):
    result = signal_propagation(depth=50, width=256, init=init, random_state=0)
    result.plot(ax)
    print(
        f"{init!s:22s} layer 50 forward {result.forward[-1]:.3g}, "
        f"theory {result.theory[-1]:.3g}, input gradient {result.backward[0]:.3g}"
    )
ax.set_title("ReLU, width 256: mean square per layer (dashed: mean-field theory)")
save(fig, "signal_propagation")
