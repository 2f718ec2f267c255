"""Label binarizers fitted once per set of labels.

A seed study, an ensemble or a grid search fits the same ``y`` tens to hundreds of
times, and ``LabelBinarizer.fit`` checks and sorts it every time (``type_of_target``
twice): 0.3–0.8 ms, a fortieth of a small digits fit, all of it holding the GIL that
the fits beside it wait for. Learning the classes is a function of the labels' values
and dtype alone, so a fit on labels equal to recent ones gets a copy of the binarizer
learnt then.
"""

import copy
import threading
from collections import deque

import numpy as np
from sklearn.preprocessing import LabelBinarizer

#: Sets of labels remembered (the most recent first out).
RECENT = 4
#: Larger label arrays are not remembered: their fit is long beside the check, and
#: copies of them would stay in memory.
MAX_BYTES = 1 << 20
#: Dtype kinds compared exactly by value: numbers, booleans, fixed-width strings.
_COMPARABLE_KINDS = "biufUS"

_recent = deque(maxlen=RECENT)  # (labels copy, fitted binarizer)
_lock = threading.Lock()


def fitted_label_binarizer(y):
    """A ``LabelBinarizer`` fitted on the validated labels ``y`` (a new object each
    call, equal to ``LabelBinarizer().fit(y)``)."""
    if (
        not isinstance(y, np.ndarray)
        or y.dtype.kind not in _COMPARABLE_KINDS
        or y.nbytes > MAX_BYTES
    ):
        return LabelBinarizer().fit(y)
    with _lock:
        entries = tuple(_recent)
    for labels, binarizer in entries:
        if labels.dtype == y.dtype and labels.shape == y.shape and np.array_equal(labels, y):
            return copy.deepcopy(binarizer)
    binarizer = LabelBinarizer().fit(y)
    with _lock:
        _recent.append((y.copy(), copy.deepcopy(binarizer)))
    return binarizer
