"""Input checks that run on the compiled kernels."""

from .._runtime.threads import calling_threads
from ..kernels.cpu.checks import count_nonfinite
from .arrays import read_only


def has_nonfinite(values):
    """Whether the float array ``values`` (C-contiguous) holds NaN or infinity: a
    parallel, vectorised pass with the same answer for any number of threads."""
    with calling_threads():
        return bool(count_nonfinite(read_only(values.reshape(-1))))
