"""Export fitted estimators to ONNX (``stochnet.io.to_onnx``).

The graph computes prediction (no dropout, centre crops) with standard ONNX operators
of opset :data:`OPSET`: ``Gemm``/``MatMul`` for the layers, the activations written out
as the kernels define them (``math_source``), LayerNorm and attention spelled out, so
that any ONNX runtime runs it. Outputs follow skl2onnx's names: ``label`` and
``probabilities`` for classifiers, ``variable`` for regressors (and ``variance`` for
``loss="gaussian_nll"``).
"""

import itertools
import math

import numpy as np

from .kernels.codes import LEAKY_RELU_SLOPE, MIN_VARIANCE
from .kernels.shared.crop_source import source_index
from .kernels.shared.math_source import LAYERNORM_EPS

#: The ONNX operator set the graphs use (ONNX 1.13+, onnxruntime 1.14+).
OPSET = 18
_IR_VERSION = 8


class _Graph:
    """A graph under construction: nodes, constants, and fresh value names."""

    def __init__(self, dtype):
        import onnx

        self.onnx = onnx
        self.dtype = np.dtype(dtype)
        self.nodes, self.constants = [], []
        self._ids = itertools.count()

    def name(self, hint="t"):
        return f"{hint}_{next(self._ids)}"

    def const(self, value, dtype=None, hint="c"):
        """A constant (``dtype`` defaults to the graph's for floats)."""
        value = np.asarray(value)
        if dtype is None and value.dtype.kind == "f":
            dtype = self.dtype
        if dtype is not None:
            value = value.astype(dtype)
        name = self.name(hint)
        self.constants.append(self.onnx.numpy_helper.from_array(value, name))
        return name

    def op(self, op_type, *inputs, outputs=1, name=None, **attributes):
        """Add a node; returns its output name (or names, for ``outputs > 1``)."""
        names = [name] if name is not None else [self.name(op_type) for _ in range(outputs)]
        node = self.onnx.helper.make_node(op_type, list(inputs), names, **attributes)
        self.nodes.append(node)
        return names[0] if outputs == 1 else names

    def model(self, inputs, outputs, doc):
        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, "stochnet", inputs, outputs, self.constants)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="stochnet",
            doc_string=doc,
        )
        model.ir_version = _IR_VERSION
        self.onnx.checker.check_model(model)
        return model

    def element_type(self, dtype=None):
        """The ONNX element type of ``dtype`` (default: the graph's float type)."""
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype or self.dtype))

    def tensor(self, name, dtype, shape):
        return self.onnx.helper.make_tensor_value_info(name, self.element_type(dtype), shape)

    # ------------------------------------------------------------- math
    def erf(self, x):
        """``Erf``, which onnxruntime implements for float32 only: a float64 graph casts
        around it (GELU is then exact to float32 rounding, about 1e-7)."""
        if self.dtype == np.float32:
            return self.op("Erf", x)
        single = self.op("Cast", x, to=self.element_type(np.float32))
        return self.op("Cast", self.op("Erf", single), to=self.element_type())

    def softplus(self, z):
        """``max(z, 0) + log(1 + exp(-|z|))``, as ``math_source.softplus``."""
        one = self.const(1.0)
        tail = self.op(
            "Log", self.op("Add", one, self.op("Exp", self.op("Neg", self.op("Abs", z))))
        )
        return self.op("Add", self.op("Relu", z), tail)

    def activation(self, name, z):
        """A hidden activation of ``codes.ACTIVATIONS``."""
        if name == "identity":
            return z
        if name == "gelu":
            erf = self.erf(self.op("Mul", z, self.const(1.0 / math.sqrt(2.0))))
            return self.op(
                "Mul", self.op("Mul", z, self.const(0.5)), self.op("Add", erf, self.const(1.0))
            )
        if name == "softplus":
            return self.softplus(z)
        if name == "leaky_relu":
            return self.op("LeakyRelu", z, alpha=LEAKY_RELU_SLOPE)
        return self.op({"logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}[name], z)

    def axes(self, *axes):
        return self.const(np.array(axes, dtype=np.int64), hint="axes")

    def layernorm(self, x, gamma, beta):
        """LayerNorm over the last axis (``math_source.LAYERNORM_EPS``)."""
        last = self.axes(-1)
        centred = self.op("Sub", x, self.op("ReduceMean", x, last, keepdims=1))
        var = self.op("ReduceMean", self.op("Mul", centred, centred), last, keepdims=1)
        std = self.op("Sqrt", self.op("Add", var, self.const(LAYERNORM_EPS)))
        return self.op(
            "Add", self.op("Mul", self.op("Div", centred, std), self.const(gamma)), self.const(beta)
        )


# ------------------------------------------------------------------- MLPs
def _mlp_outputs(g, estimator, x):
    """The network's outputs before the output activation."""
    net = estimator.network_
    if net.crop.active:
        x = g.op(
            "Gather",
            _pad_zero_column(g, x),
            g.const(_centre_crop_columns(net.crop), np.int64),
            axis=1,
        )
    n_layers = len(net.coefs)
    for i, (w, b) in enumerate(zip(net.coefs, net.intercepts, strict=True)):
        x = g.op("Gemm", x, g.const(w, hint=f"coef{i}"), g.const(b, hint=f"intercept{i}"))
        if i < n_layers - 1:
            x = g.activation(net.activation, x)
    return x


def _pad_zero_column(g, x):
    """``x`` with a column of zeros appended (the constant padding of a crop)."""
    return g.op("Pad", x, g.const(np.array([0, 0, 0, 1], dtype=np.int64)))


def _centre_crop_columns(crop):
    """The input column of each value of the centre crop (``n_features``: a zero)."""
    oy = (crop.height + 2 * crop.pad_h - crop.out_height) // 2
    ox = (crop.width + 2 * crop.pad_w - crop.out_width) // 2
    zero = crop.height * crop.width * crop.channels
    columns = []
    for y in range(crop.out_height):
        sy = source_index(oy + y, crop.height, crop.pad_h, crop.mode)
        for x in range(crop.out_width):
            sx = source_index(ox + x, crop.width, crop.pad_w, crop.mode)
            for k in range(crop.channels):
                columns.append(
                    zero if sy < 0 or sx < 0 else (sy * crop.width + sx) * crop.channels + k
                )
    return np.array(columns, dtype=np.int64)


# -------------------------------------------------------------- attention
def _attention_outputs(g, estimator, x):
    """The encoder's outputs before the output activation, from ``x`` (N × T × d_in)."""
    net = estimator.network_
    cfg, p = net.config, net.named_parameters()
    length, heads, d = cfg["length"], cfg["n_heads"], cfg["d_model"]
    valid = _valid_tokens(g, estimator, x)  # N × T bool
    if valid is not None:
        x = g.op("Where", g.op("Unsqueeze", valid, g.axes(2)), x, g.const(0.0))
    w = p["embedding.weight"]
    if cfg["per_token"]:
        h = g.op("Einsum", x, g.const(w), equation="bti,tid->btd")
    else:
        h = g.op("MatMul", x, g.const(w[0]))
    h = g.op("Add", h, g.const(p["embedding.position"]))
    allowed = _allowed_keys(g, valid, length, cfg["causal"])  # N|1 × 1 × T × T bool
    scale = 1.0 / math.sqrt(d // heads) if cfg["scale"] is None else cfg["scale"]
    for layer in range(cfg["n_layers"]):
        P = {k.split(".", 2)[2]: v for k, v in p.items() if k.startswith(f"layers.{layer}.")}
        u1 = g.layernorm(h, P["ln1.gamma"], P["ln1.beta"])
        qkv = g.op("Add", g.op("MatMul", u1, g.const(P["qkv.weight"])), g.const(P["qkv.bias"]))
        # N × T × 3d → 3 × N × heads × T × d_k
        split = g.op(
            "Transpose",
            g.op(
                "Reshape", qkv, g.const(np.array([0, length, 3, heads, d // heads], dtype=np.int64))
            ),
            perm=[2, 0, 3, 1, 4],
        )
        q, k, v = (
            g.op(
                "Squeeze",
                g.op("Gather", split, g.const(np.array([i]), np.int64), axis=0),
                g.axes(0),
            )
            for i in range(3)
        )
        scores = g.op(
            "Mul", g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2])), g.const(scale)
        )
        probs = _masked_softmax(g, scores, allowed)
        o = g.op("MatMul", probs, v)  # N × heads × T × d_k
        o = g.op(
            "Reshape",
            g.op("Transpose", o, perm=[0, 2, 1, 3]),
            g.const(np.array([0, length, d], dtype=np.int64)),
        )
        branch = g.op("Add", g.op("MatMul", o, g.const(P["out.weight"])), g.const(P["out.bias"]))
        h = g.op("Add", h, branch)
        u2 = g.layernorm(h, P["ln2.gamma"], P["ln2.beta"])
        hidden = g.activation(
            cfg["activation"],
            g.op("Add", g.op("MatMul", u2, g.const(P["ff1.weight"])), g.const(P["ff1.bias"])),
        )
        h = g.op(
            "Add",
            h,
            g.op("Add", g.op("MatMul", hidden, g.const(P["ff2.weight"])), g.const(P["ff2.bias"])),
        )
    pooled = _pool(g, h, valid, cfg["pooling"])
    u = g.layernorm(pooled, p["norm.gamma"], p["norm.beta"])
    return g.op("Gemm", u, g.const(p["output.weight"]), g.const(p["output.bias"]))


def _valid_tokens(g, estimator, x):
    """``N × T`` bool: the tokens before the trailing padding (None without padding)."""
    pad = estimator.padding_value_  # what predict masks, whatever set_params said since
    if pad is None:
        return None
    is_pad = g.op("IsNaN", x) if math.isnan(pad) else g.op("Equal", x, g.const(pad))
    # A token is padding when all its features are: none of them is not.
    real_feature = g.op("Cast", g.op("Not", is_pad), to=g.element_type(np.int64))
    real_token = g.op("ReduceMax", real_feature, g.axes(2), keepdims=0)
    # ... and it is trailing padding when no real token comes at or after it.
    later = g.op("CumSum", real_token, g.const(np.array(1, dtype=np.int64)), reverse=1)
    return g.op("Greater", later, g.const(np.array(0, dtype=np.int64)))


def _allowed_keys(g, valid, length, causal):
    """Which keys each query may attend to: valid keys (``N × 1 × 1 × T``), and with
    ``causal`` only those at or before the query (``1 × 1 × T × T``); None: all."""
    allowed = None
    if valid is not None:
        allowed = g.op("Unsqueeze", valid, g.axes(1, 2))
    if causal:
        lower = np.tril(np.ones((length, length), dtype=bool))[None, None]
        triangle = g.const(lower, np.bool_)
        allowed = triangle if allowed is None else g.op("And", allowed, triangle)
    return allowed


def _masked_softmax(g, scores, allowed):
    """Softmax over the allowed keys; a query with none attends to nothing (zeros), as
    the kernels do."""
    if allowed is None:
        return g.op("Softmax", scores, axis=-1)
    lowest = g.const(np.finfo(g.dtype).min)
    masked = g.op("Where", allowed, scores, lowest)
    peak = g.op("ReduceMax", masked, g.axes(-1), keepdims=1)
    e = g.op("Where", allowed, g.op("Exp", g.op("Sub", masked, peak)), g.const(0.0))
    total = g.op("ReduceSum", e, g.axes(-1), keepdims=1)
    return g.op("Div", e, g.op("Max", total, g.const(np.finfo(g.dtype).tiny)))


def _pool(g, h, valid, pooling):
    if pooling == "first":
        return g.op(
            "Squeeze", g.op("Gather", h, g.const(np.array([0]), np.int64), axis=1), g.axes(1)
        )
    if valid is None:
        return g.op("ReduceMean", h, g.axes(1), keepdims=0)
    weights = g.op("Unsqueeze", g.op("Cast", valid, to=g.element_type()), g.axes(2))
    total = g.op("ReduceSum", g.op("Mul", h, weights), g.axes(1), keepdims=0)
    count = g.op("ReduceSum", weights, g.axes(1), keepdims=0)
    return g.op("Div", total, g.op("Max", count, g.const(1.0)))


# ------------------------------------------------------------- estimators
def _network_outputs(g, estimator):
    """An MLP's or attention estimator's output pre-activations from the input ``X``."""
    if _is_attention(estimator):
        x = "X" if _takes_sequences(estimator) else g.op("Unsqueeze", "X", g.axes(2))
        return _attention_outputs(g, estimator, x)
    return _mlp_outputs(g, estimator, "X")


def _takes_sequences(estimator):
    """Whether an attention estimator was fitted on ``N × T × d`` sequences (not on
    rows of ``T`` scalar tokens, each position with its own embedding)."""
    return not estimator.network_.config["per_token"]


def _is_attention(estimator):
    return hasattr(estimator, "sequence_shape_")


def _probabilities(g, estimator):
    """``predict_proba`` of a classifier (``(N, n_labels)`` for multilabel ``y``)."""
    if len(estimator.classes_) < 2:
        raise ValueError("a classifier fitted on a single class has nothing to export.")
    z = _network_outputs(g, estimator)
    if estimator.out_activation_ == "softmax":
        return g.op("Softmax", z, axis=1)
    p = g.op("Sigmoid", z)
    if estimator.n_outputs_ > 1:  # multilabel: one probability per label, as predict_proba
        return p
    return g.op("Concat", g.op("Sub", g.const(1.0), p), p, axis=1)


def _label(g, classes, proba, multilabel):
    """``label`` from the probabilities; returns its dtype."""
    if multilabel:  # one indicator per label
        positive = g.op("Greater", proba, g.const(0.5))
        g.op("Cast", positive, to=g.element_type(np.int64), name="label")
        return np.dtype(np.int64)
    if classes.dtype.kind in "iub":
        labels = classes.astype(np.int64)
    elif classes.dtype.kind == "f":
        labels = classes.astype(g.dtype)
    else:  # text: an ONNX string tensor
        labels = classes.astype(str).astype(object)
    index = g.op("ArgMax", proba, axis=1, keepdims=0)
    g.op("Gather", g.const(labels, labels.dtype), index, axis=0, name="label")
    return labels.dtype


def _regression(g, estimator):
    """A regressor's predicted means and variances (None without a variance head)."""
    z = _network_outputs(g, estimator)
    k = estimator.n_outputs_
    if estimator.loss == "poisson":
        return g.op("Exp", z), None
    if estimator.loss == "gaussian_nll":
        mean, raw = g.op("Split", z, g.const(np.array([k, k], dtype=np.int64)), axis=1, outputs=2)
        return mean, g.op("Add", g.softplus(raw), g.const(MIN_VARIANCE))
    return z, None


def _ensemble_regression(g, ensemble):
    """Mean and total variance (law of total variance) over the members, in the units
    of ``y``."""
    shift, scale = getattr(ensemble, "_y_mean", 0.0), getattr(ensemble, "_y_scale", 1.0)
    means, variances = [], []
    for member in ensemble.estimators_:
        mean, var = _regression(g, member)
        means.append(g.op("Add", g.op("Mul", mean, g.const(scale)), g.const(shift)))
        if var is not None:
            variances.append(g.op("Mul", var, g.const(np.square(scale))))
    mean = g.op("Mean", *means)
    if len(variances) != len(means):
        return mean, None
    spread = [g.op("Mul", d, d) for d in (g.op("Sub", m, mean) for m in means)]
    return mean, g.op("Add", g.op("Mean", *variances), g.op("Mean", *spread))


def _width(estimator):
    """Outputs per sample (of an ensemble: of its members)."""
    return getattr(estimator, "estimators_", [estimator])[0].n_outputs_


def _graph(g, estimator):
    """Build the graph's outputs; returns their value infos."""
    from sklearn.base import is_classifier

    from .estimators import EnsembleClassifier, EnsembleRegressor

    dtype = g.dtype
    if isinstance(estimator, EnsembleClassifier):
        proba = g.op("Mean", *(_probabilities(g, m) for m in estimator.estimators_))
        multilabel = getattr(estimator, "_multilabel", False)
    elif isinstance(estimator, EnsembleRegressor):
        mean, variance = _ensemble_regression(g, estimator)
    elif is_classifier(estimator):
        proba = _probabilities(g, estimator)
        multilabel = estimator.out_activation_ == "logistic" and estimator.n_outputs_ > 1
    else:
        mean, variance = _regression(g, estimator)
    if is_classifier(estimator):
        g.op("Identity", proba, name="probabilities")
        label_dtype = _label(g, estimator.classes_, proba, multilabel)
        width = len(estimator.classes_) if not multilabel else _width(estimator)
        return [
            g.tensor("label", label_dtype, ["N", width] if multilabel else ["N"]),
            g.tensor("probabilities", dtype, ["N", width]),
        ]
    k = _width(estimator)
    outputs = [g.tensor("variable", dtype, ["N", k])]
    g.op("Identity", mean, name="variable")
    if variance is not None:
        g.op("Identity", variance, name="variance")
        outputs.append(g.tensor("variance", dtype, ["N", k]))
    return outputs


def to_onnx(estimator, dtype=np.float32):
    """See :func:`stochnet.io.to_onnx`."""
    from sklearn.utils.validation import check_is_fitted

    from . import estimators as kinds

    exportable = (
        kinds.MLPClassifier,
        kinds.MLPRegressor,
        kinds.AttentionClassifier,
        kinds.AttentionRegressor,
    )
    ensemble = isinstance(estimator, kinds.EnsembleClassifier | kinds.EnsembleRegressor)
    if not isinstance(estimator, exportable) and not ensemble:
        raise TypeError(
            "to_onnx exports MLPClassifier, MLPRegressor, AttentionClassifier, "
            f"AttentionRegressor and their ensembles; got {type(estimator).__name__}."
        )
    check_is_fitted(estimator, "estimators_" if ensemble else "network_")
    members = estimator.estimators_ if ensemble else [estimator]
    for member in members:
        if not isinstance(member, exportable):
            raise TypeError(f"to_onnx cannot export an ensemble of {type(member).__name__}.")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}.")
    first = members[0]
    if _is_attention(first) and _takes_sequences(first):
        shape = ["N", *first.sequence_shape_]
    else:
        shape = ["N", first.n_features_in_]
    g = _Graph(dtype)
    outputs = _graph(g, estimator)
    return g.model(
        [g.tensor("X", dtype, shape)], outputs, f"{type(estimator).__name__} exported by stochnet"
    )
