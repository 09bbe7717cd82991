"""The report of ``firebell doctor``: one :class:`Check` a line (``ok``, ``fail`` or ``skip``),
printed in colour with a count of the problems, or as JSON."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import attrs
import click

__all__ = ["Check", "Status", "print_report"]

Status = Literal["ok", "fail", "skip"]


@attrs.frozen
class Check:
    """One line of the report: ``ok``, ``fail`` or ``skip``, what was checked, what was found."""

    status: Status
    subject: str
    message: str

    def line(self) -> str:
        """The line as printed."""
        return f"{self.status:<4} {self.subject}: {self.message}"


def print_report(checks: Sequence[Check], as_json: bool) -> None:
    """Print the checks, one coloured line each and a count of problems, or as JSON."""
    if as_json:
        import json

        click.echo(json.dumps([attrs.asdict(check) for check in checks], indent=2))
        return
    colours: dict[str, Callable[[str], str]] = {
        "ok": lambda text: click.style(text, fg="green"),
        "fail": lambda text: click.style(text, fg="red"),
        "skip": lambda text: click.style(text, fg="yellow"),
    }
    for check in checks:
        click.echo(colours[check.status](check.line()))
    failed = sum(check.status == "fail" for check in checks)
    click.echo(f"{failed} problem{'s' if failed != 1 else ''} found." if failed else "All good.")
