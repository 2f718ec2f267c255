"""How arrays are handed to the compiled kernels."""

import numpy as np


def read_only(data):
    """A read-only view of an array, or of every array in a record (``CSRMatrix``,
    ``TokenInput``).

    Numba compiles a separate specialisation for read-only arrays. The kernels only read
    their data and, in prediction, the parameters, so these always go in read-only: a
    writable array and a read-only one (a memmap, a joblib worker's argument, a model
    loaded with ``mmap_mode="r"``) share one compiled kernel instead of two.
    """
    if isinstance(data, tuple):
        return type(data)(*(read_only(a) if isinstance(a, np.ndarray) else a for a in data))
    view = data.view()
    view.flags.writeable = False
    return view
