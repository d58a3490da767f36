"""Files in and out, safely: outputs written atomically, output paths checked first, user files read with a cap.

Every file symscale writes goes through :func:`atomic_write`: the data goes to a temporary file in the
target's directory, is flushed and fsync'ed, and only then renamed over the target. Bad input, any
error, Ctrl-C / SIGTERM (see :func:`install_signal_handlers`) or a full disk leave the previous file
untouched and no temporary file behind; two concurrent writers leave one complete file from one of them.
Special files (``/dev/null``, ``/dev/full``, a FIFO) cannot be renamed over and are written directly.

Every user file symscale reads goes through :func:`read_user_text`: at most :data:`MAX_INPUT_BYTES`
are read (``/dev/zero`` or a huge file is refused, not slurped) and the bytes must be UTF-8 text.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
from collections.abc import Iterator
from typing import IO

from symscale.base.errors import InputError

MAX_INPUT_BYTES = 64 * 2**20
_SHOWN = 120  # characters of a path quoted in a message (a 10,000-character path is cut)


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that ``finally`` blocks (temporary file removal) run."""


def shown(path: str | os.PathLike) -> str:
    """The path quoted for a message, cut in the middle when very long."""
    text = os.fspath(path)
    if len(text) > _SHOWN:
        text = f"{text[:60]}...{text[-40:]} ({len(text)} characters)"
    return repr(text)


def reason(exc: OSError) -> str:
    """The OS error in words, lower case: 'no space left on device'."""
    text = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        text = "no space left on device"
    return text[:1].lower() + text[1:]


def _cannot_write(path, exc: OSError) -> InputError:
    return InputError(f"cannot write {shown(path)}: {reason(exc)}")


def is_special(path: str | os.PathLike) -> bool:
    """Whether ``path`` exists and is not a regular file or directory (a device or FIFO: written in place)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _target(path: str) -> str:
    """The file actually replaced: a symbolic link is followed, so the link itself stays."""
    return os.path.realpath(path) if os.path.islink(path) else path


def check_output_path(path: str | os.PathLike, option: str = "output") -> None:
    """Raise InputError unless a file can be created at ``path`` (call it before any work is done).

    Checks the name's length, that the directory exists and is a directory, that the target is not a
    directory, and that a file can be created next to it (a real probe: catches read-only filesystems
    and /proc). A device or FIFO (``/dev/full``, ``/dev/null``) is accepted and written directly.
    """
    import tempfile

    text = os.fspath(path)
    if not text:
        raise InputError(f"{option}: the file name is empty")
    if "\0" in text:
        raise InputError(f"{option}: the file name {shown(text)} contains a NUL character")
    try:
        if is_special(text):
            return
        target = _target(text)
        if os.path.isdir(target):
            raise InputError(f"cannot write {shown(text)}: it is a directory")
        full = os.path.abspath(target)
        directory = os.path.dirname(full)
        _check_length(full)
        if not os.path.exists(directory):
            raise InputError(f"cannot write {shown(text)}: directory {shown(directory)} does not exist")
        if not os.path.isdir(directory):
            raise InputError(f"cannot write {shown(text)}: {shown(directory)} is not a directory")
        if os.path.exists(target) and not os.access(target, os.W_OK):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as exc:
        raise _cannot_write(text, exc) from None
    try:
        handle, probe = tempfile.mkstemp(prefix=".symscale-probe-", dir=directory)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"cannot write {shown(text)}: no file can be created in {shown(directory)} "
                         f"({reason(exc)})") from None


def _check_length(full: str) -> None:
    """Raise ENAMETOOLONG for a path or a path component longer than the system allows."""
    too_long = OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
    if len(os.fsencode(full)) >= os.pathconf("/", "PC_PATH_MAX"):
        raise too_long
    if any(len(os.fsencode(part)) > os.pathconf("/", "PC_NAME_MAX") for part in full.split(os.sep)):
        raise too_long


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, newline: str | None = None,
                 encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open ``path`` for writing; the file appears (renamed into place) only if the block completes.

    ``mode`` is "w" (text) or "wb" (bytes). Write errors (a full disk) become InputError
    "cannot write PATH: no space left on device"; the previous file is kept and the temporary removed.
    """
    text = os.fspath(path)
    check_output_path(text)
    binary = "b" in mode
    options = {} if binary else {"newline": newline, "encoding": encoding}
    if is_special(text):
        yield from _write_special(text, mode, options)
        return
    import tempfile

    target = _target(text)
    directory, name = os.path.split(os.path.abspath(target))
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{name[:100]}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _cannot_write(text, exc) from None
    done = False
    try:
        with os.fdopen(fd, mode, **options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, _mode_for(target))
        raise_if_signalled()  # a signal lost while a worker started still cancels the write
        with _signals_blocked():
            os.replace(temp, target)
            done = True
        _sync_directory(directory)
    except OSError as exc:
        raise _cannot_write(text, exc) from None
    finally:
        if not done:
            with _signals_blocked(), contextlib.suppress(OSError):
                os.unlink(temp)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a whole text file atomically (see atomic_write)."""
    with atomic_write(path) as handle:
        handle.write(text)


def _write_special(path: str, mode: str, options: dict) -> Iterator[IO]:
    """Write a device or FIFO in place (it cannot be replaced); errors become InputError."""
    try:
        with open(path, mode, **options) as handle:
            yield handle
            handle.flush()
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _mode_for(target: str) -> int:
    """Permissions for the new file: the old file's, else what open() would give (0666 less the umask)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_directory(directory: str) -> None:
    """fsync the directory so that the rename itself is durable (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the few system calls that must not be cut (rename, unlink)."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


_MAIN_PID: int | None = None
SIGNALLED: list[int] = []
"""Signals received by the CLI process. A handler's exception raised inside an at-fork callback (a worker
starting) is printed and swallowed by Python; ``raise_if_signalled`` raises it again at the next check."""


_FORKING: list[bool] = []


def _forking(flag: bool) -> None:
    _FORKING[:] = [flag]


def _on_sigterm(signum, frame) -> None:
    """In the CLI process raise Terminated; in a forked worker die as SIGTERM would have it."""
    if os.getpid() != _MAIN_PID:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    SIGNALLED.append(signal.SIGTERM)
    if not any(_FORKING):  # inside fork callbacks an exception would be printed and lost: recorded instead
        raise Terminated()


def _on_sigint(signum, frame) -> None:
    if os.getpid() == _MAIN_PID:
        SIGNALLED.append(signal.SIGINT)
        if any(_FORKING):
            return
    raise KeyboardInterrupt


def raise_if_signalled() -> None:
    """Raise again a Ctrl-C or SIGTERM whose first exception was lost (see SIGNALLED)."""
    if SIGNALLED and os.getpid() == _MAIN_PID:
        raise Terminated() if SIGNALLED[-1] == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def signal_handlers() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated in this process (SIGINT already raises KeyboardInterrupt)."""
    global _MAIN_PID
    if _MAIN_PID is None:  # registered once; runs after logging's own after-fork release (registered earlier)
        os.register_at_fork(before=lambda: _forking(True), after_in_parent=lambda: _forking(False),
                            after_in_child=lambda: _forking(False))
    _MAIN_PID = os.getpid()
    SIGNALLED.clear()
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        previous_int = signal.signal(signal.SIGINT, _on_sigint)
    except (ValueError, OSError):  # not the main thread: leave the handlers alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


# --- reading ------------------------------------------------------------------------------------
def read_user_text(path: str | os.PathLike, what: str, limit: int = MAX_INPUT_BYTES) -> str:
    """The text of a user's file, refused (InputError) when missing, larger than ``limit``, or not UTF-8 text."""
    text_path = os.fspath(path)
    try:
        with open(text_path, "rb") as handle:
            if stat.S_ISDIR(os.fstat(handle.fileno()).st_mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            data = _read_capped(handle, limit, f"{what} {shown(text_path)}")
    except FileNotFoundError:
        raise InputError(f"{what} {shown(text_path)} not found") from None
    except OSError as exc:
        raise InputError(f"{what} {shown(text_path)} cannot be read: {reason(exc)}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {shown(text_path)} is not UTF-8 text (byte {exc.start})") from None


def _read_capped(handle: IO[bytes], limit: int, what: str) -> bytes:
    """Read in 1 MiB pieces, stopping at the first NUL byte (binary, /dev/zero) or beyond ``limit`` bytes."""
    pieces, size = [], 0
    while True:
        piece = handle.read(2**20)
        if not piece:
            return b"".join(pieces)
        if b"\0" in piece:
            raise InputError(f"{what} is not a text file (it contains NUL bytes)")
        size += len(piece)
        if size > limit:
            raise InputError(f"{what} is larger than {limit // 2**20} MiB; symscale reads text files up to that size")
        pieces.append(piece)


def names_a_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` exists and is not a directory (a file, a link to one, a device); False, not OSError,
    for names too long or otherwise unusable."""
    try:
        return os.path.exists(path) and not os.path.isdir(path)
    except (OSError, ValueError):
        return False
