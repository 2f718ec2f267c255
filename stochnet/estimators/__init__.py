"""scikit-learn estimators (loaded on first use, see ``stochnet``)."""

import importlib

_NAMES = {
    "AttentionClassifier": "attention",
    "AttentionRegressor": "attention",
    "EnsembleClassifier": "ensemble",
    "EnsembleRegressor": "ensemble",
    "MLPClassifier": "mlp",
    "MLPRegressor": "mlp",
    "pad_sequences": "attention",
}

__all__ = sorted(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
