"""stochnet: neural networks whose randomness is a controllable, measurable part of the model.

Submodules and public names load on first use (PEP 562), so that
``from stochnet import MLPClassifier`` imports the MLP estimators and what they need,
not the attention estimators, ensembles, diagnostics or I/O.
"""

from ._runtime.lazy import attach

__version__ = "0.1.0.dev0"

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "AttentionClassifier": "estimators.attention",
        "AttentionRegressor": "estimators.attention",
        "CompileWarning": "_runtime.compiling",
        "EnsembleClassifier": "estimators.ensemble",
        "EnsembleRegressor": "estimators.ensemble",
        "GaussianNoise": "augment",
        "MLPClassifier": "estimators.mlp",
        "MLPRegressor": "estimators.mlp",
        "RandomCrop": "augment",
        "cuda_available": "_runtime.device",
        "get_num_threads": "_runtime.threads",
        "set_num_threads": "_runtime.threads",
        "pad_sequences": "estimators.attention",
    },
    submodules=(
        "augment",
        "datasets",
        "diagnostics",
        "init",
        "io",
        "precompile",
        "prune",
        "random",
        "study",
        "uncertainty",
    ),
    defined=("__version__",),
)
