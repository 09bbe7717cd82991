"""Problems a command reports in one line, ``error: …``, before or instead of doing its work.

A file or folder it was told to write that cannot be written, a port that is taken: the person
can fix these by choosing another option or freeing the resource, as with a usage error, so
they exit with click's usage-error code, 2, without a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

__all__ = ["CannotWrite", "CommandProblem", "writing"]


class CommandProblem(click.ClickException):
    """Raised when a command cannot go on for a reason the person can fix; exit code 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``error: <message>``: no usage text, the option is named in the message."""
        click.secho(f"error: {self.format_message()}", fg="red", err=True, file=file)


class CannotWrite(CommandProblem):
    """Raised when a file or folder a command was told to write cannot be written."""


@contextmanager
def writing(path: str | os.PathLike[str], *, option: str) -> Iterator[None]:
    """Report an ``OSError`` from writing ``path`` (given with ``option``) as :class:`CannotWrite`.

    The message names ``path`` as the person gave it (not the temporary file beside it that an
    atomic write creates) and the reason, e.g. ``cannot write locked/out.jsonl (permission
    denied); choose another --output, or make locked writable``.
    """
    try:
        yield
    except OSError as error:
        raise CannotWrite(_cannot_write(Path(path), error, option)) from error


def _cannot_write(path: Path, error: OSError, option: str) -> str:
    reason = os.strerror(error.errno).lower() if error.errno else str(error)
    folder = path if path.is_dir() else path.parent
    shown = str(folder) if str(folder) not in ("", ".") else "the current folder"
    return f"cannot write {path} ({reason}); choose another {option}, or make {shown} writable."
