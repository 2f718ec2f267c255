"""Package attributes that import their module on first use (PEP 562)."""

import importlib


def attach(package, names, submodules=(), defined=()):
    """``(__getattr__, __dir__, __all__)`` for ``package``.

    ``names`` maps each public name to the module (relative to ``package``) that
    defines it; ``submodules`` are exposed as attributes themselves; ``defined`` are
    public names the package module sets itself.
    """
    public = sorted([*names, *submodules, *defined])

    def __getattr__(name):
        if name in submodules:
            return importlib.import_module(f".{name}", package)
        if name in names:
            value = getattr(importlib.import_module(f".{names[name]}", package), name)
            setattr(importlib.import_module(package), name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return public

    return __getattr__, __dir__, public
