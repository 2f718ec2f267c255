"""Numba's on-disk cache, invalidated by any change to any kernel.

Numba stamps a cached function with the hash of its *own* source file. A kernel that
calls a kernel from another file (every epoch loop does) would then keep running the
old callee after the callee's file changes, until its own file changes too: a silent
wrong result after ``git pull`` in an editable install. These locators, used only for
files inside ``stochnet/kernels`` (and ``stochnet/_config.py``, whose options they
compile with), stamp every entry with the hash of that whole tree instead.

An index written by an earlier stochnet may also name a class that has moved since
(``kernels.cpu.inputs.CSRMatrix`` became ``kernels.shared.records.CSRMatrix``): Numba
would fail to unpickle it, before it ever compares the stamp. Such an index of a
stochnet kernel is read as empty instead: the kernel compiles and overwrites it.
"""

import functools
import hashlib
import pathlib
import pickle

from numba.core import caching

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent
_KERNELS = _PACKAGE / "kernels"


@functools.cache
def kernel_tree_hash():
    """SHA-256 over the paths and contents of every kernel source file."""
    digest = hashlib.sha256()
    for path in sorted([*_KERNELS.rglob("*.py"), _PACKAGE / "_config.py"]):
        digest.update(str(path.relative_to(_PACKAGE)).encode())
        digest.update(path.read_bytes())
    return digest.digest()


def _in_kernel_tree(py_file):
    try:
        return pathlib.Path(py_file).resolve().is_relative_to(_KERNELS)
    except OSError:
        return False


def _tree_stamped(base):
    class Locator(base):
        def get_source_stamp(self):
            return kernel_tree_hash()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _in_kernel_tree(py_file):
                return None
            return super().from_function(py_func, py_file)

    Locator.__name__ = Locator.__qualname__ = f"KernelTree{base.__name__}"
    return Locator


LOCATORS = tuple(
    _tree_stamped(base)
    for base in (
        caching.UserProvidedCacheLocator,
        caching.InTreeCacheLocator,
        caching.UserWideCacheLocator,
    )
)


def _stochnet_index(path):
    """Whether a cache index belongs to a stochnet kernel (in the source tree, or in a
    cache folder that mirrors its path)."""
    parts = pathlib.PurePath(path).parts
    return "stochnet" in parts and "kernels" in parts


def _tolerate_stale_indexes():
    original = caching.IndexDataCacheFile._load_index
    if getattr(original, "stochnet", False):
        return

    def load_index(self):
        try:
            return original(self)
        except (AttributeError, ImportError, EOFError, pickle.UnpicklingError):
            if not _stochnet_index(self._index_path):
                raise
            return {}

    load_index.stochnet = True
    caching.IndexDataCacheFile._load_index = load_index


def register():
    """Put the kernel-tree locators first (idempotent; other files are unaffected) and
    let stale indexes of stochnet's kernels read as empty."""
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # renamed in numba 0.59
    registered = impl._locator_classes
    for locator in reversed(LOCATORS):
        if locator not in registered:
            registered.insert(0, locator)
    _tolerate_stale_indexes()
