"""Optimisers with scikit-learn's semantics; state lives in flat vectors.

The host-side objects keep the schedule (learning rate per epoch, adaptive decay); the
per-batch arithmetic is one fused kernel pass (``kernels.cpu.optim``).
"""

from typing import NamedTuple

import numpy as np

from ..kernels.codes import OPTIMIZERS


class OptimConfig(NamedTuple):
    """Scalars the compiled step needs, passed as one argument."""

    kind: int
    lr: float
    momentum: float
    nesterov: bool
    beta1: float
    beta2: float
    eps: float
    alpha: float
    l1: float


class _Optimizer:
    """The settings of an optimiser apart from its state."""

    SETTINGS = ()

    def settings(self):
        return {name: getattr(self, name) for name in self.SETTINGS}

    def adopt_settings(self, other):
        """Take ``other``'s settings (same kind), keeping the state; a new
        ``learning_rate_init`` restarts the schedule from it. Returns whether anything
        changed."""
        new = other.settings()
        if new == self.settings():
            return False
        if new["learning_rate_init"] != self.learning_rate_init:
            self.learning_rate = new["learning_rate_init"]
        for name, value in new.items():
            setattr(self, name, value)
        return True


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum, as scikit-learn's ``SGDOptimizer``.

    Parameters
    ----------
    learning_rate_init : float
    lr_schedule : {"constant", "invscaling", "adaptive"}
    momentum : float
    nesterov : bool
    power_t : float
        Exponent of ``"invscaling"``: ``lr = lr_init / (t + 1) ** power_t`` with ``t`` the
        number of samples seen, updated at the end of each epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet.engine import SGD
    >>> opt = SGD(0.01, "constant", 0.9, True, 0.5)
    >>> opt.allocate(10, np.float32)
    >>> opt.config(0.0, 0.0).kind  # the compiled step's settings
    0
    """

    kind = OPTIMIZERS["sgd"]
    #: The constructor's settings (what a model file keeps, beside ``learning_rate``).
    SETTINGS = ("learning_rate_init", "lr_schedule", "momentum", "nesterov", "power_t")

    def __init__(
        self,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
    ):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.power_t = float(power_t)
        self.state = None

    def allocate(self, n_params, dtype):
        """Zero the velocity for ``n_params`` parameters (first fit or reset)."""
        self.state = (np.zeros(n_params, dtype=dtype), np.zeros(0, dtype=dtype))

    def config(self, alpha, l1):
        return OptimConfig(
            self.kind,
            self.learning_rate,
            self.momentum,
            self.nesterov,
            0.0,
            0.0,
            0.0,
            float(alpha),
            float(l1),
        )

    @property
    def changes_each_epoch(self):
        """Whether the learning rate changes at every epoch end (``"invscaling"``)."""
        return self.lr_schedule == "invscaling"

    def iteration_ends(self, time_step):
        """Update the schedule after an epoch; ``time_step`` counts samples seen."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self):
        """Called when training stalls: decay the rate (adaptive) or agree to stop.

        Returns
        -------
        bool
            Whether training should stop.
        """
        if self.lr_schedule != "adaptive":
            return True
        if self.learning_rate <= 1e-6:
            return True
        self.learning_rate /= 5.0
        return False


class Adam(_Optimizer):
    """Adam (Kingma & Ba 2014), as scikit-learn's ``AdamOptimizer``.

    Examples
    --------
    >>> import numpy as np
    >>> from stochnet.engine import Adam
    >>> opt = Adam(1e-3, 0.9, 0.999, 1e-8)
    >>> opt.allocate(10, np.float32)
    >>> [m.shape for m in opt.state]
    [(10,), (10,)]
    """

    kind = OPTIMIZERS["adam"]
    SETTINGS = ("learning_rate_init", "beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.state = None

    def allocate(self, n_params, dtype):
        """Zero both moment vectors for ``n_params`` parameters."""
        self.state = (np.zeros(n_params, dtype=dtype), np.zeros(n_params, dtype=dtype))

    def config(self, alpha, l1):
        return OptimConfig(
            self.kind,
            self.learning_rate,
            0.0,
            False,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            float(alpha),
            float(l1),
        )

    #: Adam has no per-epoch schedule.
    changes_each_epoch = False

    def iteration_ends(self, time_step):
        """Adam has no per-epoch schedule."""

    def trigger_stopping(self):
        """Training stalled: Adam always agrees to stop."""
        return True
