"""The report of ``firebell doctor``: one :class:`Check` a line (``ok``, ``fail``, ``warn`` or
``skip``), printed in colour with a count of the problems and warnings, or as JSON."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import attrs
import click

__all__ = ["Check", "Status", "print_report", "summary"]

#: ``warn``: works, but likely not as meant (a plugin function that is never called); not a
#: problem for the exit status.
Status = Literal["ok", "fail", "warn", "skip"]


@attrs.frozen
class Check:
    """One line of the report: its status, what was checked, what was found."""

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
        "warn": lambda text: click.style(text, fg="yellow"),
        "skip": lambda text: click.style(text, fg="yellow"),
    }
    for check in checks:
        click.echo(colours[check.status](check.line()))
    click.echo(summary(checks))


def summary(checks: Sequence[Check]) -> str:
    """The report's last line: ``All good.``, or how many problems and warnings there are."""
    failed = sum(check.status == "fail" for check in checks)
    warned = sum(check.status == "warn" for check in checks)
    if not failed and not warned:
        return "All good."
    problems = f"{failed} problem{'s' if failed != 1 else ''}" if failed else "No problems"
    warnings = f"{warned} warning{'s' if warned != 1 else ''}" if warned else ""
    return f"{problems} found{'; ' + warnings if warnings else ''}."
