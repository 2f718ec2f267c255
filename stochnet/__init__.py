"""stochnet: neural networks whose randomness is a controllable, measurable part of the model.

Submodules and public names load on first use (PEP 562), so that
``from stochnet import MLPClassifier`` imports the MLP estimators and what they need,
not the attention estimators, ensembles, diagnostics or I/O.
"""

import importlib

__version__ = "0.1.0.dev0"

_SUBMODULES = ("augment", "datasets", "diagnostics", "init", "io", "prune", "random",
               "uncertainty")  # fmt: skip
#: Public name -> the module that defines it.
_NAMES = {
    "AttentionClassifier": "estimators.attention",
    "AttentionRegressor": "estimators.attention",
    "EnsembleClassifier": "estimators.ensemble",
    "EnsembleRegressor": "estimators.ensemble",
    "GaussianNoise": "augment",
    "MLPClassifier": "estimators.mlp",
    "MLPRegressor": "estimators.mlp",
    "RandomCrop": "augment",
    "cuda_available": "_device",
    "pad_sequences": "estimators.attention",
}

__all__ = sorted([*_NAMES, *_SUBMODULES, "__version__"])


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
