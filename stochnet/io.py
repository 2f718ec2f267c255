"""Model files that cannot run code: ``save(est, path)`` and ``load(path)``.

A model file is a zip archive (the ``.npz`` layout) holding

* ``header.json`` — format name and version, the stochnet version that wrote it, and
  the estimator as a tree of plain JSON values: parameters, fitted attributes, and
  ``{"__object__": name}`` nodes whose names come from a fixed allow-list;
* ``arrays/<i>.npy`` — every array, in NumPy's ``.npy`` format, numeric or boolean
  (or fixed-width text) only, read with ``allow_pickle=False``.

Loading never imports or calls anything named by the file. It checks the archive
members, the declared dtype and shape of every array before reading it, and the
rebuilt estimator (parameter vector size, finiteness, layer sizes, classes) before
returning it; a file that fails any check raises ``ValueError`` (``OSError`` when it
cannot be read at all).

What is saved: the estimator's parameters and everything it needs to predict, its
training history (``loss_curve_``, ``n_iter_``, ...) and its training state: the
optimiser's (Adam's moments and step, SGD's velocity and learning-rate schedule), the
random streams' counters (the batch step and the epoch of the shuffles) and early
stopping's (best score or loss, the epochs without improvement, the best parameters).
``partial_fit`` after ``load`` continues exactly as it would have in the saving
process, and a ``warm_start`` fit re-creates the optimiser as scikit-learn's does.
L-BFGS keeps no state between calls: a warm start restarts scipy's L-BFGS-B from the
current parameters, after :func:`load` as in memory.
Files are written atomically (a temporary file beside the target, flushed to disk,
then renamed over it). A fit's checkpoint (the ``checkpoint=`` parameter) is a model
file with a ``checkpoint`` record in its header; :func:`load` reads it as the model at
that epoch. Parameters that are arbitrary Python objects (a callable or a
``scipy.stats`` distribution as ``init``, a ``numpy.random.Generator`` as
``random_state``) cannot be written; ``save`` says so.
"""

import dataclasses
import io as _io
import json
import math
import numbers
import os
import zipfile

import numpy as np

from ._runtime.files import replace_atomically

FORMAT = "stochnet-model"
FORMAT_VERSION = 1

#: Upper bounds that keep a hostile file from exhausting memory before it is rejected.
MAX_HEADER_BYTES = 16 * 2**20
MAX_ARRAY_BYTES = 8 * 2**30
MAX_DEPTH = 32

_ARRAY_KINDS = "biufU"  # bool, int, uint, float, fixed-width unicode: never objects


# ------------------------------------------------------------------ allow-list
def _classes():
    """The only classes a file may name, by the name it uses."""
    from sklearn.preprocessing import LabelBinarizer

    from .augment import GaussianNoise, RandomCrop
    from .estimators import (
        AttentionClassifier,
        AttentionRegressor,
        EnsembleClassifier,
        EnsembleRegressor,
        MLPClassifier,
        MLPRegressor,
    )

    return {
        cls.__name__: cls
        for cls in (
            MLPClassifier,
            MLPRegressor,
            AttentionClassifier,
            AttentionRegressor,
            EnsembleClassifier,
            EnsembleRegressor,
            RandomCrop,
            GaussianNoise,
            LabelBinarizer,
        )
    }


_ESTIMATORS = (
    "MLPClassifier",
    "MLPRegressor",
    "EnsembleClassifier",
    "EnsembleRegressor",
    "AttentionClassifier",
    "AttentionRegressor",
)
_RECORDS = ("RandomCrop", "GaussianNoise")
#: The estimators an ensemble file may hold as members.
_MEMBERS = tuple(name for name in _ESTIMATORS if not name.startswith("Ensemble"))


# ---------------------------------------------------------------------- ONNX
def to_onnx(estimator, dtype=np.float32):
    """The fitted ``estimator``'s prediction as an ONNX model (needs ``onnx``:
    ``pip install stochnet[onnx]``).

    The graph uses the standard operators of opset 18 (onnxruntime 1.14 or later) and
    computes what ``predict``/``predict_proba`` compute: no dropout, the centre crop
    for a ``RandomCrop``, padding tokens masked as ``padding_value`` says. Inputs and
    outputs follow skl2onnx's names.

    Parameters
    ----------
    estimator : fitted MLPClassifier, MLPRegressor, AttentionClassifier or
        AttentionRegressor
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        Type of the input, the weights and the arithmetic.

    Returns
    -------
    onnx.ModelProto
        Input ``X`` of shape ``(N, n_features)``, or ``(N, T, d)`` for an attention
        estimator fitted on sequences. Classifiers output ``label`` (``(N,)``, the
        classes' type; ``(N, n_labels)`` indicators for multilabel ``y``) and
        ``probabilities`` (``(N, n_classes)``); regressors output ``variable``
        (``(N, n_targets)``) and, for ``loss="gaussian_nll"``, ``variance``.

    Raises
    ------
    TypeError
        If ``estimator`` is not one of these.
    ImportError
        Without ``onnx``.

    Examples
    --------
    >>> import numpy as np, stochnet as sn
    >>> X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    >>> clf = sn.MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    >>> model = sn.io.to_onnx(clf)
    >>> [output.name for output in model.graph.output]
    ['label', 'probabilities']
    """
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise ImportError("to_onnx needs onnx: pip install 'stochnet[onnx]'.") from exc
    from ._onnx import to_onnx as export

    return export(estimator, dtype)


# ---------------------------------------------------------------------- saving
def save(estimator, path):
    """Write ``estimator`` (fitted or not) to ``path`` in stochnet's model format.

    Parameters
    ----------
    estimator : MLPClassifier, MLPRegressor, AttentionClassifier, AttentionRegressor,
        EnsembleClassifier or EnsembleRegressor
    path : str or os.PathLike
        Conventionally ending in ``.npz``.

    Raises
    ------
    TypeError
        If ``estimator`` is not a stochnet estimator.
    ValueError
        If one of its parameters is an object the format cannot hold (callable
        ``init``, ``numpy.random.Generator`` as ``random_state``, ...).

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import stochnet as sn
    >>> X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    >>> clf = sn.MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> sn.io.save(clf, path)
    >>> bool((sn.io.load(path).predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    if type(estimator).__name__ not in _ESTIMATORS or not isinstance(
        estimator, _classes()[type(estimator).__name__]
    ):
        raise TypeError(
            f"estimator must be one of {', '.join(_ESTIMATORS)}, got {type(estimator).__name__}."
        )
    write(estimator, path)


def write(estimator, path, **sections):
    """:func:`save` with extra JSON ``sections`` in the header (a checkpoint's record).

    The file appears whole or not at all: the archive goes to a temporary file in the
    same folder, is flushed to disk (``fsync``) and then renamed over ``path``
    (``os.replace``, atomic on POSIX and Windows), so a process killed mid-write leaves
    the previous file intact.
    """
    from . import __version__

    arrays = []
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "stochnet_version": __version__,
        "estimator": encode(estimator, arrays, "estimator"),
        **sections,
    }
    text = json.dumps(header, allow_nan=False)

    def write_archive(file):
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("header.json", text)
            for i, array in enumerate(arrays):
                buffer = _io.BytesIO()
                np.lib.format.write_array(buffer, array, allow_pickle=False)
                archive.writestr(f"arrays/{i}.npy", buffer.getvalue())

    replace_atomically(path, write_archive)


def encode(value, arrays, where):
    """``value`` as a tree of JSON values, its arrays appended to ``arrays`` and referred
    to by index; ``where`` names it in errors (``ValueError`` for what a model file
    cannot hold)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, os.PathLike):  # e.g. checkpoint=Path(...): loads as a str
        return os.fsdecode(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.generic):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise ValueError(f"{where}: cannot save a NumPy scalar of dtype {value.dtype}.")
        return {"__scalar__": value.dtype.str, "value": str(value.item())}
    if isinstance(value, np.ndarray):
        if value.dtype == object and all(isinstance(v, str) for v in value.flat):
            # e.g. feature_names_in_ of a DataFrame fit: text in the file, objects again
            # after load.
            arrays.append(np.ascontiguousarray(value.astype(str)))
            return {"__strings__": len(arrays) - 1}
        if value.dtype.kind not in _ARRAY_KINDS:
            raise ValueError(f"{where}: cannot save an array of dtype {value.dtype}.")
        arrays.append(np.ascontiguousarray(value))
        return {"__array__": len(arrays) - 1}
    if isinstance(value, list | tuple):
        items = [encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"{where}: only dicts with str keys can be saved.")
        return {"__dict__": {k: encode(v, arrays, f"{where}.{k}") for k, v in value.items()}}
    name = type(value).__name__
    cls = _classes().get(name)
    if cls is not None and type(value) is cls:
        if name in _RECORDS:
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        elif name in _ESTIMATORS:
            fields = _estimator_state(value)
        else:  # LabelBinarizer
            fields = dict(vars(value))
        return {"__object__": name, "state": encode(fields, arrays, f"{where}<{name}>")}
    if type(value).__name__ == "Trainer":
        return {"__trainer__": encode(_trainer_state(value), arrays, f"{where}<trainer>")}
    if type(value).__name__ == "MLPNetwork":
        return {"__network__": encode(_network_state(value), arrays, f"{where}<network>")}
    if type(value).__name__ == "AttentionNetwork":
        return {"__encoder__": encode(_encoder_state(value), arrays, f"{where}<encoder>")}
    raise ValueError(
        f"{where}: a {type(value).__name__} cannot be saved in a model file (only numbers, "
        "strings, arrays, lists, dicts and stochnet's own specs). Use a named "
        "initialiser / an int random_state, or pickle at your own risk."
    )


def _estimator_state(estimator):
    state = dict(estimator.__getstate__())
    if state.get("_trainer") is None:
        state.pop("_trainer", None)
    return state


def _optimizers():
    """The optimisers a file may name, and the settings each keeps between epochs."""
    from .engine import SGD, Adam

    return {cls.__name__: (*cls.SETTINGS, "learning_rate") for cls in (SGD, Adam)}


#: What a trainer keeps between calls: its settings and the random streams' counters.
_TRAINER_FIELDS = (
    "batch_size",
    "shuffle",
    "alpha",
    "l1",
    "input_noise",
    "keys",
    "chunk_seconds",
    "loss_scale",
    "step",
    "epoch",
    "t",
)


def _trainer_state(trainer):
    optimizer = trainer.optimizer
    name = type(optimizer).__name__
    return {
        **{field: getattr(trainer, field) for field in _TRAINER_FIELDS},
        "optimizer": name,
        "settings": {k: getattr(optimizer, k) for k in _optimizers()[name]},
        "state": list(optimizer.state),
    }


def _network_state(net):
    return {
        "layer_sizes": list(net.layer_sizes),
        "activation": net.activation,
        "loss": net.loss,
        "dropout": list(net.dropout),
        "dtype": net.dtype.name,
        "crop": list(net.crop),
        "theta": net.theta,
        "mask": net.mask.astype(bool) if net.mask.size else None,
    }


def _encoder_state(net):
    return {
        **net.config,
        "dtype": net.dtype.name,
        "theta": net.theta,
        "mask": net.mask.astype(bool) if net.mask.size else None,
    }


# --------------------------------------------------------------------- loading
def load(path):
    """Read an estimator written by :func:`save`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    estimator
        Predicts exactly as the saved one did.

    Raises
    ------
    ValueError
        If the file is not a valid stochnet model file: not a zip archive, missing or
        extra members, unknown format version or class, object or oversized arrays,
        shapes that do not fit together, non-finite weights.
    OSError
        If the file cannot be read.
    """
    return read(path)[1]


def read(path):
    """:func:`load`, also returning the file's header (plain JSON values)."""
    path = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path} is not a stochnet model file (not a zip archive).") from exc
    with archive:
        try:
            header, arrays = _read_members(archive)
            return header, _decode_estimator(header, arrays)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        except (
            zipfile.BadZipFile,
            EOFError,
            KeyError,
            UnicodeDecodeError,
            NotImplementedError,
        ) as exc:  # NotImplementedError: a compression method zipfile does not know
            raise ValueError(f"{path}: corrupt model file ({type(exc).__name__}: {exc}).") from None


def _read_members(archive):
    infos = {info.filename: info for info in archive.infolist()}
    if "header.json" not in infos:
        raise ValueError("no header.json: not a stochnet model file.")
    if infos["header.json"].file_size > MAX_HEADER_BYTES:
        raise ValueError("header.json is larger than any stochnet model needs.")
    try:
        header = json.loads(archive.read("header.json").decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"header.json is not valid JSON ({exc}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"header.json does not describe a {FORMAT!r} file.")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"format_version {version!r} is not supported (this stochnet reads version "
            f"{FORMAT_VERSION})."
        )
    names = [f"arrays/{i}.npy" for i in range(len(infos) - 1)]
    if sorted(infos) != sorted(["header.json", *names]):
        raise ValueError("unexpected members in the archive.")
    arrays = [_read_array(archive, infos[name]) for name in names]
    return header, arrays


def _read_array(archive, info):
    if info.file_size > MAX_ARRAY_BYTES + 4096:
        raise ValueError(f"{info.filename} is larger than the {MAX_ARRAY_BYTES} bytes allowed.")
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"{info.filename}: unknown .npy version {version}.")
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }.get(version, np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(f)
        if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields is not None:
            raise ValueError(f"{info.filename}: arrays of dtype {dtype} are not allowed.")
        count = math.prod(shape)
        if count * dtype.itemsize > min(MAX_ARRAY_BYTES, info.file_size):
            raise ValueError(f"{info.filename}: declared shape {shape} exceeds the data stored.")
    with archive.open(info) as f:
        array = np.lib.format.read_array(f, allow_pickle=False)
    if array.shape != shape:
        raise ValueError(f"{info.filename}: truncated array.")
    return array


class _Decoder:
    def __init__(self, arrays):
        self.arrays = arrays
        self.used = set()

    def __call__(self, node, where, depth=0):
        if depth > MAX_DEPTH:
            raise ValueError(f"{where}: nested deeper than any stochnet model.")
        if node is None or isinstance(node, bool | str | int | float):
            return node
        if isinstance(node, list):
            return [self(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(node)]
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise ValueError(f"{where}: malformed node.")
        tag = next(iter(node))
        value = node[tag]
        if tag == "__float__" and value in ("inf", "-inf", "nan"):
            return float(value)
        if tag == "__scalar__" and set(node) == {"__scalar__", "value"}:
            return self._scalar(value, node["value"], where)
        if tag == "__array__" and isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(self.arrays) or value in self.used:
                raise ValueError(f"{where}: bad array reference {value}.")
            self.used.add(value)
            return self.arrays[value]
        if tag == "__strings__" and len(node) == 1:
            strings = self({"__array__": value}, where, depth + 1)
            if strings.dtype.kind != "U":
                raise ValueError(f"{where}: strings stored as {strings.dtype}.")
            return strings.astype(object)
        if tag == "__tuple__" and isinstance(value, list):
            return tuple(self(v, where, depth + 1) for v in value)
        if tag == "__dict__" and isinstance(value, dict):
            return {str(k): self(v, f"{where}.{k}", depth + 1) for k, v in value.items()}
        if tag == "__trainer__" and len(node) == 1:
            return _TrainerState(self(value, f"{where}<trainer>", depth + 1))
        if tag == "__network__" and len(node) == 1:
            return _build_network(self(value, f"{where}<network>", depth + 1), where)
        if tag == "__encoder__" and len(node) == 1:
            return _build_encoder(self(value, f"{where}<encoder>", depth + 1), where)
        if tag == "__object__" and set(node) == {"__object__", "state"}:
            return self._object(value, node["state"], where, depth)
        raise ValueError(f"{where}: unknown node {tag!r}.")

    @staticmethod
    def _scalar(dtype, text, where):
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise ValueError(f"{where}: bad scalar dtype {dtype!r}.") from None
        if dtype.kind not in "biuf" or not isinstance(text, str) or len(text) > 64:
            raise ValueError(f"{where}: bad scalar.")
        if dtype.kind == "b":
            if text not in ("True", "False"):
                raise ValueError(f"{where}: bad scalar value {text!r}.")
            return dtype.type(text == "True")
        try:
            return dtype.type(float(text) if dtype.kind == "f" else int(text))
        except (ValueError, OverflowError):
            raise ValueError(f"{where}: bad scalar value {text!r}.") from None

    def _object(self, name, state, where, depth):
        classes = _classes()
        if not isinstance(name, str) or name not in classes:
            raise ValueError(f"{where}: class {name!r} is not one a model file may contain.")
        state = self(state, f"{where}<{name}>", depth + 1)
        if not isinstance(state, dict):
            raise ValueError(f"{where}<{name}>: malformed state.")
        cls = classes[name]
        if name in _RECORDS:
            try:
                return cls(**state)
            except TypeError as exc:
                raise ValueError(f"{where}<{name}>: {exc}") from None
        obj = cls.__new__(cls)
        if name in _ESTIMATORS:
            _check_estimator_state(cls, state, f"{where}<{name}>")
            trainer = state.pop("_trainer", None)
            obj.__setstate__(state)
            if "_network" in state:
                obj._best_theta = _best_theta(state, obj._network, f"{where}<{name}>")
                obj._trainer = None
                if trainer is not None:
                    obj._trainer = _build_trainer(trainer, obj._network, f"{where}<{name}>")
            elif trainer is not None:
                raise ValueError(f"{where}<{name}>: a trainer without a network.")
        else:
            obj.__dict__.update(state)
        return obj


class _TrainerState(dict):
    """A decoded trainer, built once its estimator's network exists."""


def _best_theta(state, net, where):
    best = state.get("_best_theta")
    if best is None:  # files of earlier versions: the parameters are the best ones
        return net.theta.copy()
    if (
        not isinstance(best, np.ndarray)
        or best.shape != net.theta.shape
        or (best.dtype != net.dtype)
    ):
        raise ValueError(f"{where}: _best_theta does not match the parameter vector.")
    if not np.all(np.isfinite(best)):
        raise ValueError(f"{where}: _best_theta holds NaN or infinite values.")
    return best


def _build_trainer(state, net, where):
    """A :class:`~stochnet.engine.Trainer` of ``net`` in the saved state, checked."""
    from .engine import SGD, Adam, Trainer
    from .engine.trainer import TRAINER_SOURCES

    where = f"{where}<trainer>"
    if isinstance(state, _TrainerState) and "key" in state and "keys" not in state:
        # Files written before per-source seeds: one key for every source.
        state = _TrainerState(state, keys=state.pop("key"))
    expected = {*_TRAINER_FIELDS, "optimizer", "settings", "state"}
    if not isinstance(state, _TrainerState) or set(state) != expected:
        raise ValueError(f"{where}: malformed trainer.")
    name, settings, arrays = state["optimizer"], state["settings"], state["state"]
    optimizers = _optimizers()
    if name not in optimizers:
        raise ValueError(f"{where}: unknown optimiser {name!r}.")
    if not isinstance(settings, dict) or set(settings) != set(optimizers[name]):
        raise ValueError(f"{where}: malformed {name} settings.")
    for counter in ("batch_size", "step", "epoch", "t"):
        value = state[counter]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**62:
            raise ValueError(f"{where}: {counter} must be a non-negative int, got {value!r}.")
    keys = state["keys"]
    if isinstance(keys, dict):
        if set(keys) != set(TRAINER_SOURCES):
            raise ValueError(f"{where}: keys must name {', '.join(TRAINER_SOURCES)}.")
        values = list(keys.values())
    else:
        values = [keys]
    if not all(isinstance(key, np.uint64) for key in values):
        raise ValueError(f"{where}: keys must be uint64.")
    for key, value in settings.items():
        if key == "lr_schedule":
            ok = value in ("constant", "invscaling", "adaptive")
        elif key == "nesterov":
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
        if not ok:
            raise ValueError(f"{where}: bad {name} setting {key}={value!r}.")
    optimizer = {"SGD": SGD, "Adam": Adam}[name](
        **{k: v for k, v in settings.items() if k != "learning_rate"}
    )
    optimizer.learning_rate = float(settings["learning_rate"])
    try:
        fields = {f: state[f] for f in _TRAINER_FIELDS if f not in ("step", "epoch", "t")}
        trainer = Trainer(net, optimizer, **fields)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    if not isinstance(arrays, list) or len(arrays) != len(optimizer.state):
        raise ValueError(f"{where}: {name} keeps {len(optimizer.state)} state vectors.")
    for current, saved in zip(optimizer.state, arrays, strict=True):
        if (
            not isinstance(saved, np.ndarray)
            or saved.shape != current.shape
            or (saved.dtype != current.dtype)
        ):
            raise ValueError(
                f"{where}: optimiser state must be {current.dtype} of shape {current.shape}."
            )
        if not np.all(np.isfinite(saved)):
            raise ValueError(f"{where}: the optimiser state holds NaN or infinite values.")
        current[...] = saved
    trainer.step, trainer.epoch, trainer.t = state["step"], state["epoch"], state["t"]
    return trainer


def _decode_estimator(header, arrays):
    decode = _Decoder(arrays)
    estimator = decode(header.get("estimator"), "estimator")
    if type(estimator).__name__ not in _ESTIMATORS:
        raise ValueError("the file does not hold a stochnet estimator.")
    if len(decode.used) != len(arrays):
        raise ValueError("the archive holds arrays that nothing refers to.")
    return estimator


def _build_network(state, where):
    from .engine import MLPNetwork
    from .kernels.codes import CropPlan

    expected = {"layer_sizes", "activation", "loss", "dropout", "dtype", "crop", "theta", "mask"}
    if not isinstance(state, dict) or set(state) != expected:
        raise ValueError(f"{where}: malformed network.")
    sizes = state["layer_sizes"]
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(isinstance(s, int) and 0 < s <= 2**24 for s in sizes)
    ):
        raise ValueError(f"{where}: bad layer sizes {sizes!r}.")
    if state["dtype"] not in ("float32", "float64"):
        raise ValueError(f"{where}: dtype must be float32 or float64.")
    try:
        crop = CropPlan(*state["crop"])
        net = MLPNetwork(
            sizes,
            activation=state["activation"],
            loss=state["loss"],
            dropout=tuple(state["dropout"]),
            dtype=state["dtype"],
            crop=crop,
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return _load_parameters(net, state, f"layers {sizes}", where)


def _build_encoder(state, where):
    from .engine import AttentionNetwork

    sizes = ("length", "d_in", "n_outputs", "d_model", "n_heads", "n_layers", "d_ff")
    expected = {
        *sizes,
        "per_token",
        "causal",
        "pooling",
        "scale",
        "attention_dropout",
        "dropout",
        "activation",
        "loss",
        "dtype",
        "theta",
        "mask",
    }
    if not isinstance(state, dict) or set(state) != expected:
        raise ValueError(f"{where}: malformed encoder.")
    if not all(isinstance(state[k], int) and 0 < state[k] <= 2**20 for k in sizes):
        raise ValueError(f"{where}: bad encoder sizes.")
    if state["dtype"] not in ("float32", "float64"):
        raise ValueError(f"{where}: dtype must be float32 or float64.")
    config = {k: v for k, v in state.items() if k not in ("theta", "mask")}
    try:
        net = AttentionNetwork(**config)
    except (TypeError, KeyError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return _load_parameters(net, state, "this encoder", where)


def _load_parameters(net, state, what, where):
    """Checked copy of the saved parameter vector and pruning mask into ``net``."""
    theta = state["theta"]
    if not isinstance(theta, np.ndarray) or theta.shape != net.theta.shape:
        raise ValueError(
            f"{where}: the parameter vector must have shape {net.theta.shape} for {what}, "
            f"got {getattr(theta, 'shape', None)}."
        )
    if theta.dtype != net.dtype:
        raise ValueError(f"{where}: parameters must be {net.dtype}, got {theta.dtype}.")
    if not np.all(np.isfinite(theta)):
        raise ValueError(f"{where}: the parameters hold NaN or infinite values.")
    net.theta[...] = theta
    mask = state["mask"]
    if mask is not None:
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.ndim != 1:
            raise ValueError(f"{where}: the pruning mask must be a 1-D bool array.")
        try:
            net.set_mask(mask)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return net


def _check_classes(classes, n_out, where):
    if classes is None:
        return
    if not isinstance(classes, np.ndarray) or classes.ndim != 1:
        raise ValueError(f"{where}: classes_ must be a 1-D array.")
    if n_out != len(classes) and not (len(classes) == 2 and n_out == 1):
        raise ValueError(f"{where}: {len(classes)} classes do not fit {n_out} output units.")


#: Parameters added after format version 1 was fixed, with the value older files mean.
_LATER_PARAMS = {"checkpoint": None, "vary": None}


def _check_estimator_state(cls, state, where):
    """Cross-checks between the parameters and the fitted attributes."""
    params = set(cls._get_param_names())
    for name, default in _LATER_PARAMS.items():  # files written before they existed
        if name in params:
            state.setdefault(name, default)
    missing = params - set(state)
    if missing:
        raise ValueError(f"{where}: missing parameters {sorted(missing)}.")
    if "_network" in state and cls.__name__.startswith("Attention"):
        net = state["_network"]
        if type(net).__name__ != "AttentionNetwork":
            raise ValueError(f"{where}: _network is not an attention network.")
        shape = state.get("sequence_shape_")
        cfg = net.config
        if shape != (cfg["length"], cfg["d_in"]) or state.get("n_features_in_") != (
            cfg["length"] * cfg["d_in"]
        ):
            raise ValueError(f"{where}: sequence_shape_ does not match the network's input.")
        _check_classes(state.get("classes_"), net.n_outputs, where)
    elif "_network" in state:
        net = state["_network"]
        if type(net).__name__ != "MLPNetwork":
            raise ValueError(f"{where}: _network is not a network.")
        hidden = _hidden_layer_sizes(state.get("hidden_layer_sizes"), where)
        if list(net.layer_sizes[1:-1]) != hidden:
            raise ValueError(
                f"{where}: hidden_layer_sizes {hidden} do not match the network's "
                f"{list(net.layer_sizes[1:-1])}."
            )
        n_in = state.get("n_features_in_")
        if not isinstance(n_in, int) or (not net.crop.active and n_in != net.layer_sizes[0]):
            raise ValueError(f"{where}: n_features_in_ does not match the network's input.")
        _check_classes(state.get("classes_"), net.layer_sizes[-1], where)
    if "estimators_" in state:
        members = state["estimators_"]
        if not isinstance(members, list) or not all(type(m).__name__ in _MEMBERS for m in members):
            raise ValueError(
                f"{where}: estimators_ must be a list of {', '.join(_MEMBERS)} estimators."
            )


def _hidden_layer_sizes(value, where):
    """The saved ``hidden_layer_sizes`` as a list, read as ``fit`` reads it (an int, a
    sequence, a NumPy integer or array of them)."""
    from .estimators._params import check_hidden_layer_sizes

    try:
        return list(check_hidden_layer_sizes(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
