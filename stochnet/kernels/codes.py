"""Integer codes and plain records shared by the engine and every backend's kernels.

Nothing here imports Numba: the estimators read these at import time, and
``import stochnet`` compiles and loads no kernel.
"""

from typing import NamedTuple

ACTIVATIONS = {
    "identity": 0,
    "logistic": 1,
    "tanh": 2,
    "relu": 3,
    "leaky_relu": 4,
    "gelu": 5,
    "softplus": 6,
}

#: Each loss fixes the output activation (its canonical link), as in scikit-learn.
LOSSES = {
    "softmax_cross_entropy": 0,  # softmax outputs, one-hot targets
    "binary_cross_entropy": 1,  # logistic outputs, 0/1 targets (binary, multilabel)
    "squared_error": 2,  # identity outputs
    "poisson": 3,  # exp outputs
    "gaussian_nll": 4,  # outputs (mean, softplus variance) per target
}

OPTIMIZERS = {"sgd": 0, "adam": 1}

PADDING_MODES = {"constant": 0, "reflect": 1, "edge": 2}

#: Pooling of the encoder's last tokens into one vector (``EncoderPlan.pooling``).
POOLING = {"mean": 0, "first": 1}

# The codes by name, for the kernels' branches (Numba freezes them as constants).
IDENTITY, LOGISTIC, TANH, RELU, LEAKY_RELU, GELU, SOFTPLUS = (
    ACTIVATIONS[name]
    for name in ("identity", "logistic", "tanh", "relu", "leaky_relu", "gelu", "softplus")
)
SOFTMAX_CROSS_ENTROPY, BINARY_CROSS_ENTROPY, SQUARED_ERROR, POISSON, GAUSSIAN_NLL = (
    LOSSES[name]
    for name in (
        "softmax_cross_entropy",
        "binary_cross_entropy",
        "squared_error",
        "poisson",
        "gaussian_nll",
    )
)
SGD, ADAM = OPTIMIZERS["sgd"], OPTIMIZERS["adam"]
PAD_CONSTANT, PAD_REFLECT, PAD_EDGE = (PADDING_MODES[m] for m in ("constant", "reflect", "edge"))
MEAN_POOLING, FIRST_POOLING = POOLING["mean"], POOLING["first"]


class CropPlan(NamedTuple):
    """Geometry of the input crop (``active=False``: no crop)."""

    active: bool
    height: int
    width: int
    channels: int
    out_height: int
    out_width: int
    pad_h: int
    pad_w: int
    mode: int


NO_CROP = CropPlan(False, 1, 1, 1, 1, 1, 0, 0, 0)

#: Philox stream numbers, one per source of randomness (``stochnet.random.STREAMS``).
STREAMS = {
    "user": 0,
    "init": 1,
    "shuffle": 2,
    "dropout": 3,
    "noise": 4,
    "crop": 5,
    "prune": 6,
    "validation": 7,
    "mc_dropout": 8,
    "ensemble": 9,
}

#: An encoder layer's weight matrices, the columns of ``EncoderPlan.layer_w``.
LAYER_WEIGHTS = ("qkv", "out", "ff1", "ff2")
QKV, OUT, FF1, FF2 = range(len(LAYER_WEIGHTS))
#: An encoder layer's vectors, the columns of ``EncoderPlan.layer_b``.
LAYER_VECTORS = (
    "ln1.gamma", "ln1.beta", "qkv.bias", "out.bias", "ln2.gamma", "ln2.beta", "ff1.bias",
    "ff2.bias",
)  # fmt: skip
LN1_GAMMA, LN1_BETA, QKV_BIAS, OUT_BIAS, LN2_GAMMA, LN2_BETA, FF1_BIAS, FF2_BIAS = range(
    len(LAYER_VECTORS)
)

#: Dropout of hidden layer ``h`` draws counter indices from ``h << DROPOUT_LAYER_SHIFT``.
DROPOUT_LAYER_SHIFT = 40

LEAKY_RELU_SLOPE = 0.01

#: Floor added to the softplus variance head of the Gaussian NLL.
MIN_VARIANCE = 1e-6
