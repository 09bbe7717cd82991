"""Files written whole: beside their target, then renamed into place.

A reader (a person, ``git``, a dashboard) sees the old file or the new one, never half of one,
and a write cut short leaves the old file as it was. The post-mortem files, ``firebell export
-o`` and ``firebell stats --chart`` are written this way.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO

__all__ = ["not_writable_reason", "replacing", "write_atomically"]

#: Permissions asked for a new file; the umask takes its part, as for ``open(path, "w")``.
_NEW_FILE_MODE = 0o666


@contextmanager
def replacing(path: Path, *, encoding: str = "utf-8") -> Iterator[TextIO]:
    """Write ``path`` through a new file in its folder, renamed over ``path`` when the block
    ends (and removed instead when it raises).

    The file gets the permissions ``open(path, "w")`` would leave: those of the file it
    replaces, else ``0o666`` less the umask. (``tempfile.mkstemp`` makes ``0o600`` files, which
    left post-mortems kept in a shared repository readable by their writer only.)
    """
    handle, temporary = _create_beside(path)
    try:
        with os.fdopen(handle, "w", encoding=encoding) as out:
            with suppress(FileNotFoundError):  # a new file: the umask made its mode
                os.fchmod(out.fileno(), stat.S_IMODE(os.stat(path).st_mode))
            yield out
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (see :func:`replacing`), creating its folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as out:
        out.write(text)


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new, empty hidden file next to ``path``: its descriptor and its path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        try:
            return os.open(temporary, flags, _NEW_FILE_MODE), temporary
        except FileExistsError:  # 2**32 names: another writer's temporary file, try another
            continue


def not_writable_reason(path: Path) -> str:
    """Why this process may not write ``path``, which ``os.access`` refused: a read-only file
    system, an immutable or append-only file (for root, whom permissions do not stop), else its
    permissions. Writes nothing."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "a read-only file system"
    except OSError:
        pass
    if os.geteuid() == 0:
        return "immutable or append-only: see lsattr"
    return "permission denied"
