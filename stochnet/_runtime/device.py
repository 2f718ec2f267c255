"""Which compute device a call runs on."""

import functools

DEVICES = ("cpu", "cuda", "auto")


@functools.cache
def cuda_available():
    """Whether a CUDA GPU and the ``numba-cuda`` driver bindings are usable.

    Returns
    -------
    bool
        ``True`` when ``numba.cuda`` imports and finds a GPU.

    Examples
    --------
    >>> import stochnet
    >>> isinstance(stochnet.cuda_available(), bool)
    True
    """
    try:
        from numba import cuda
    except Exception:  # numba-cuda missing or broken: no GPU for us
        return False
    try:
        return bool(cuda.is_available())
    except Exception:
        return False


def resolve_device(device, name="device"):
    """Turn a ``device`` parameter into ``"cpu"`` or ``"cuda"``.

    ``"auto"`` picks the GPU when one is usable; ``"cuda"`` without a usable GPU raises
    ``RuntimeError``.
    """
    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"{name} must be one of {DEVICES}, got {device!r}.")
    if device == "cpu":
        return "cpu"
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if not cuda_available():
        raise RuntimeError(
            f"{name}='cuda' was requested, but no usable CUDA GPU was found (install "
            "stochnet[cuda] and an NVIDIA driver, or set NUMBA_ENABLE_CUDASIM=1 for the "
            "simulator). Use device='cpu' or device='auto'."
        )
    return "cuda"


def kernel_module(name, device):
    """The kernel module ``name`` (e.g. ``"rng"``) of the backend for a resolved device;
    imported on first use so that ``import stochnet`` loads no compiler."""
    import importlib

    backend = "cuda" if device == "cuda" else "cpu"
    return importlib.import_module(f"stochnet.kernels.{backend}.{name}")
