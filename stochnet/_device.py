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

    ``"auto"`` picks the GPU when one is usable. The CUDA kernels are not part of this
    release yet, so ``"cuda"`` raises even where a GPU exists.
    """
    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"{name} must be one of {DEVICES}, got {device!r}.")
    if device == "cpu" or (device == "auto"):
        return "cpu"
    raise RuntimeError(
        f"{name}='cuda' was requested, but the CUDA backend is not available "
        f"(GPU found: {cuda_available()}; the CUDA kernels are not in this release). "
        "Use device='cpu' or device='auto'."
    )
