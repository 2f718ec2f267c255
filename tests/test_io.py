"""Model files: exact round trips, and every kind of bad file rejected with ValueError."""

import io
import json
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits

import stochnet as sn
from stochnet import io as snio

from .conftest import examples


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def _fitted(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y)


X, Y = _digits()
ESTIMATORS = {
    "classifier": lambda: _fitted(sn.MLPClassifier((8,), max_iter=5, random_state=0), X, Y),
    "binary-float32": lambda: _fitted(
        sn.MLPClassifier((8, 4), max_iter=5, dropout=0.2, random_state=0),
        X.astype(np.float32),
        Y % 2 == 0,
    ),
    "multilabel": lambda: _fitted(
        sn.MLPClassifier((8,), max_iter=5, random_state=0), X, np.c_[Y % 2, Y % 3 == 0]
    ),
    "regressor-nll": lambda: _fitted(
        sn.MLPRegressor(loss="gaussian_nll", hidden_layer_sizes=(8,), max_iter=5), X, Y * 1.0
    ),
    "pruned-augmented": lambda: _fitted(
        sn.MLPClassifier(
            (8,),
            max_iter=5,
            prune=0.5,
            augment=[sn.RandomCrop(6, image_shape=(8, 8)), sn.GaussianNoise(0.1)],
            random_state=0,
        ),
        X,
        Y,
    ),
    "lbfgs": lambda: _fitted(
        sn.MLPClassifier((8,), solver="lbfgs", max_iter=20, random_state=0), X, Y
    ),
    "early-stopping": lambda: _fitted(
        sn.MLPClassifier((8,), early_stopping=True, max_iter=5, random_state=0), X, Y
    ),
    "ensemble-classifier": lambda: _fitted(
        sn.EnsembleClassifier(sn.MLPClassifier((8,), max_iter=5), n_estimators=2, random_state=0),
        X,
        Y,
    ),
    "ensemble-regressor": lambda: _fitted(
        sn.EnsembleRegressor(
            sn.MLPRegressor(loss="gaussian_nll", hidden_layer_sizes=(8,), max_iter=5),
            n_estimators=2,
            random_state=0,
        ),
        X,
        Y * 1.0,
    ),
}


def _predictions(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X), est.predict(X)
    out = est.predict(X, return_std=True)
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_round_trip_predicts_identically(name, tmp_path):
    est = ESTIMATORS[name]()
    path = tmp_path / "model.npz"
    snio.save(est, path)
    loaded = snio.load(path)
    assert type(loaded) is type(est)
    assert loaded.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    Xp = X.astype(np.float32) if "float32" in name else X
    for a, b in zip(_predictions(est, Xp), _predictions(loaded, Xp), strict=True):
        np.testing.assert_array_equal(a, b)
    if hasattr(est, "coefs_"):
        for name in ("n_iter_", "loss_", "loss_curve_", "validation_scores_", "best_loss_"):
            assert getattr(est, name, None) == getattr(loaded, name, None)


def test_loaded_model_keeps_training_and_keeps_its_mask(tmp_path):
    est = ESTIMATORS["pruned-augmented"]()
    snio.save(est, tmp_path / "m.npz")
    loaded = snio.load(tmp_path / "m.npz")
    _fitted(loaded.set_params(warm_start=True, max_iter=3), X, Y)
    for w, keep in zip(loaded.coefs_, loaded.masks_, strict=True):
        assert np.all(w[~keep] == 0)


def test_unfitted_estimator_round_trips(tmp_path):
    est = sn.MLPClassifier((5, 3), dropout=(0.1, 0.2), init=("uniform", 0.1), alpha=1e-3)
    snio.save(est, tmp_path / "m.npz")
    assert snio.load(tmp_path / "m.npz").get_params() == est.get_params()


@pytest.mark.parametrize(
    "params",
    [{"init": lambda shape, rng: np.zeros(shape)}, {"random_state": np.random.default_rng(0)}],
)
def test_parameters_that_are_code_cannot_be_saved(params, tmp_path):
    with pytest.raises(ValueError, match="cannot be saved"):
        snio.save(sn.MLPClassifier(**params), tmp_path / "m.npz")


def test_save_rejects_foreign_estimators(tmp_path):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="estimator must be one of"):
        snio.save(LogisticRegression(), tmp_path / "m.npz")


# ------------------------------------------------------------------ bad files
@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.npz"
    snio.save(ESTIMATORS["classifier"](), path)
    return path.read_bytes()


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _archive(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _with_header(data, edit):
    members = _members(data)
    header = json.loads(members["header.json"])
    edit(header)
    members["header.json"] = json.dumps(header)
    return _archive(members)


def _state(header):
    return header["estimator"]["state"]["__dict__"]


class _FakeShape:
    """A .npy header declaring ``shape`` followed by a few bytes of data."""

    def __init__(self, shape):
        self.shape = shape


def _npy(array):
    buffer = io.BytesIO()
    if isinstance(array, _FakeShape):
        header = {"descr": "<f8", "fortran_order": False, "shape": array.shape}
        np.lib.format.write_array_header_1_0(buffer, header)
        buffer.write(b"\0" * 64)
    else:
        np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _theta_index(header):
    return _state(header)["_network"]["__network__"]["__dict__"]["theta"]["__array__"]


def _replace_theta(data, array):
    members = _members(data)
    index = _theta_index(json.loads(members["header.json"]))
    members[f"arrays/{index}.npy"] = _npy(array)
    return _archive(members)


BAD_FILES = {
    "empty file": lambda d: b"",
    "not a zip": lambda d: b"PK\x03\x04 not really a zip" * 10,
    "truncated": lambda d: d[: len(d) // 2],
    "no header": lambda d: _archive({k: v for k, v in _members(d).items() if k != "header.json"}),
    "header not JSON": lambda d: _archive({**_members(d), "header.json": b"{not json"}),
    "wrong format": lambda d: _with_header(d, lambda h: h.update(format="pickle")),
    "future version": lambda d: _with_header(d, lambda h: h.update(format_version=99)),
    "unknown class": lambda d: _with_header(
        d, lambda h: h["estimator"].update({"__object__": "os.system"})
    ),
    "class outside allow-list": lambda d: _with_header(
        d, lambda h: h["estimator"].update({"__object__": "Pipeline"})
    ),
    "unknown node": lambda d: _with_header(
        d, lambda h: _state(h).update(loss_={"__reduce__": ["os.system", ["echo"]]})
    ),
    "extra member": lambda d: _archive({**_members(d), "evil.py": b"import os"}),
    "object array": lambda d: _replace_theta(d, np.array([object()], dtype=object)),
    "wrong theta shape": lambda d: _replace_theta(d, np.zeros(7)),
    "wrong theta dtype": lambda d: _replace_theta(d, np.zeros(610, dtype=np.int64)),
    "NaN weights": lambda d: _replace_theta(d, np.full(610, np.nan)),
    "oversized declared shape": lambda d: _replace_theta(d, _FakeShape((10**12,))),
    "hidden sizes disagree": lambda d: _with_header(
        d, lambda h: _state(h).update(hidden_layer_sizes={"__tuple__": [9]})
    ),
    "input width disagrees": lambda d: _with_header(
        d, lambda h: _state(h).update(n_features_in_=3)
    ),
    "deep nesting": lambda d: _with_header(
        d, lambda h: _state(h).update(loss_=json.loads("[" * 100 + "]" * 100))
    ),
}


BAD_FILE_ERRORS = {
    "empty file": "not a zip",
    "not a zip": "not a zip",
    "truncated": "not a zip|corrupt",
    "no header": "no header.json",
    "header not JSON": "not valid JSON",
    "wrong format": "does not describe",
    "future version": "format_version 99",
    "unknown class": "class 'os.system'",
    "class outside allow-list": "class 'Pipeline'",
    "unknown node": "unknown node '__reduce__'",
    "extra member": "unexpected members",
    "object array": "dtype object",
    "wrong theta shape": "must have shape",
    "wrong theta dtype": "must be float64",
    "NaN weights": "NaN",
    "oversized declared shape": "exceeds the data",
    "hidden sizes disagree": "do not match",
    "input width disagrees": "n_features_in_",
    "deep nesting": "nested deeper",
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_raise_value_error(case, model_bytes, tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(BAD_FILES[case](model_bytes))
    with pytest.raises(ValueError, match=BAD_FILE_ERRORS[case]):
        snio.load(path)


def test_missing_file_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        snio.load(tmp_path / "nowhere.npz")


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_files_raise_only_value_error(data, model_bytes, tmp_path_factory):
    """Random byte flips, insertions and truncations of a valid file: load either
    returns an estimator or raises ValueError/OSError, never anything else."""
    blob = bytearray(model_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = data.draw(st.integers(0, max(len(blob) - 1, 0)))
        if op == "flip" and blob:
            blob[at] = data.draw(st.integers(0, 255))
        elif op == "insert":
            blob[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del blob[at : at + data.draw(st.integers(1, 16))]
        else:
            del blob[at:]
    path = tmp_path_factory.mktemp("fuzz") / "m.npz"
    path.write_bytes(bytes(blob))
    try:
        est = snio.load(path)
    except (ValueError, OSError):
        return
    est.predict(X)  # whatever loads must be a working model


@settings(max_examples=examples(100))
@given(header=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["__object__", "state", "__array__", "__strings__",
                                       "__dict__", "__tuple__", "__network__", "__scalar__",
                                       "value",
                                       "__float__", "format", "x"]), children, max_size=3),
    max_leaves=20,
))  # fmt: skip
def test_fuzzed_headers_raise_only_value_error(header, model_bytes, tmp_path_factory):
    members = _members(model_bytes)
    document = {"format": snio.FORMAT, "format_version": snio.FORMAT_VERSION, "estimator": header}
    members["header.json"] = json.dumps(document)
    path = tmp_path_factory.mktemp("fuzz") / "m.npz"
    path.write_bytes(_archive(members))
    with pytest.raises(ValueError):
        snio.load(path)


@pytest.mark.parametrize(
    "value", [np.bool_(False), np.bool_(True), np.uint64(2**64 - 1), np.float32(0.1), np.int8(-3)]
)
def test_numpy_scalars_round_trip(value):
    node = snio.encode(value, [], "x")
    decoded = snio._Decoder([])(node, "x")
    assert decoded == value and decoded.dtype == value.dtype
