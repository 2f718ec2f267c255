"""Files that appear whole or not at all."""

import contextlib
import glob
import os


def temporary_name(path, pid=None):
    """The name :func:`replace_atomically` writes ``path`` under first (in the same
    folder, so that the rename cannot cross file systems)."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{os.getpid() if pid is None else pid}.tmp")


def replace_atomically(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, flush it to disk and
    rename it to ``path``; on any failure the temporary file goes and ``path`` is as it
    was. A process killed meanwhile leaves ``path`` intact and a temporary file that
    :func:`remove_orphans` removes."""
    path = os.fspath(path)
    temporary = temporary_name(path)
    try:
        # os.open, not tempfile: the file gets the umask's permissions, as open() would.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        with os.fdopen(os.open(temporary, flags, 0o666), "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(os.path.dirname(os.path.abspath(path)))


def remove_orphans(path):
    """Remove the temporary files of ``path`` left by processes that no longer run."""
    pattern = temporary_name(path, pid="*")
    for temporary in glob.glob(glob.escape(pattern[: -len("*.tmp")]) + "*.tmp"):
        pid = temporary[len(pattern) - len("*.tmp") : -len(".tmp")]
        if pid.isdigit() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _running(pid):
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def _sync_folder(folder):
    """Make a rename durable: POSIX needs the folder flushed too (Windows cannot open a
    folder, and needs nothing)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
