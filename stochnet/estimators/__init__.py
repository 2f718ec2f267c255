"""scikit-learn estimators (loaded on first use, see ``stochnet``)."""

from .._runtime.lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "AttentionClassifier": "attention",
        "AttentionRegressor": "attention",
        "EnsembleClassifier": "ensemble",
        "EnsembleRegressor": "ensemble",
        "MLPClassifier": "mlp",
        "MLPRegressor": "mlp",
        "pad_sequences": "attention",
    },
)
