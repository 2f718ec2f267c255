"""Files that appear whole or not at all."""

import contextlib
import glob
import os


def temporary_name(path, pid=None):
    """The name :func:`replace_atomically` writes ``path`` under first (in the same
    folder, so that the rename cannot cross file systems)."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{os.getpid() if pid is None else pid}.tmp")


def writable_folder_problem(path):
    """Why no file can be written at ``path``, as ``(OSError subclass, reason)``: an
    empty path or a folder, a folder that is missing, not a folder or not writable;
    ``None`` when it can."""
    path = os.fspath(path)
    if not path:
        return FileNotFoundError, "the path is empty"
    if os.path.isdir(path):
        return IsADirectoryError, "it is a folder"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(folder):
        return FileNotFoundError, f"its folder {folder!r} does not exist"
    if not os.path.isdir(folder):
        return NotADirectoryError, f"{folder!r} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return PermissionError, f"its folder {folder!r} is not writable"
    return None


def replace_atomically(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, flush it to disk and
    rename it to ``path``; on any failure the temporary file goes and ``path`` is as it
    was. A process killed meanwhile leaves ``path`` intact and a temporary file that
    :func:`remove_orphans` removes."""
    path = os.fspath(path)
    problem = writable_folder_problem(path)
    if problem is not None:
        error, reason = problem
        raise error(f"cannot write {path!r}: {reason}.")
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
