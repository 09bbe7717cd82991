"""What the commands of the ``firebell`` command line share.

:class:`CliState` holds the ``--config`` path and the Firebell opened on first use, and gives the
events a command appended to the plugins (``--deliver-timeout``), naming the Slack users they
involve first; :class:`Interrupted` is Ctrl-C during that wait. :data:`pass_state`,
:func:`json_option`, :func:`actor_option` and :func:`actor_id` give a command its state,
``--json`` and ``--as``.
"""

from __future__ import annotations

import getpass
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import click
from firebell.adapters.cli.delivery_notes import left_to_deliver
from firebell.adapters.cli.people import person_id
from firebell.adapters.cli.slack_names import name_slack_people
from firebell.core import AppendResult, Firebell, load_config, open_firebell

__all__ = ["CliState", "Interrupted", "actor_id", "actor_option", "json_option", "pass_state"]

F = TypeVar("F", bound=Callable[..., Any])


class CliState:
    """What every subcommand shares: the config path and the Firebell opened on first use."""

    def __init__(self, config: str | None, deliver_timeout: float) -> None:
        self.config = config
        self.deliver_timeout = deliver_timeout
        self._firebell: Firebell | None = None

    def open(self) -> Firebell:
        """The Firebell for ``--config`` (opened once), for a command that may deliver: it
        refuses to start when a secret's environment variable is not set."""
        if self._firebell is None:
            self._firebell = open_firebell(load_config(self.config))
        else:
            self._firebell.settings.require_secrets()
        return self._firebell

    def open_to_read(self) -> Firebell:
        """The Firebell for ``--config`` (opened once), for a command that delivers nothing
        (``list``, ``show``, ``stats``…): the plugins' secrets need not be set; one that is not
        says so if anything asks for its value."""
        if self._firebell is None:
            self._firebell = open_firebell(load_config(self.config, require_secrets=False))
        return self._firebell

    def close(self) -> None:
        """Close what :meth:`open` opened, without waiting again for a plugin call that hangs
        (:meth:`deliver` gave it its grace already; see :meth:`Deliverer.close`)."""
        if self._firebell is not None:
            self._firebell.deliverer.close(wait_for=0.0)
            self._firebell.close()
            self._firebell = None

    def deliver(self, result: AppendResult | None = None) -> None:
        """Give the new events to the plugins now (for at most ``--deliver-timeout`` seconds and
        a short grace), and say what is left: calls still running, pending and failed ones.

        First, with the Slack plugin enabled, the Slack users the command's ``result`` involves
        are named (:func:`~firebell.adapters.cli.slack_names.name_slack_people`), so that the
        post-mortems the plugins write now show their names.

        Ctrl-C while waiting raises :class:`Interrupted` at once (the calls under way are left to
        end with the process; their deliveries run again, see :meth:`Deliverer.close`), and a
        second Ctrl-C ends the process outright.
        """
        firebell = self.open()
        try:
            if result is not None:
                name_slack_people(firebell, result)
            firebell.deliverer.drain(timeout=self.deliver_timeout)
            self._say_what_is_left(firebell)
        except KeyboardInterrupt:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_DFL)
            raise Interrupted(
                "Interrupted. Nothing is lost: the deliveries not done finish with "
                "`firebell run` (or `firebell deliver`)."
            ) from None

    def _say_what_is_left(self, firebell: Firebell) -> None:
        for note in left_to_deliver(firebell, self.deliver_timeout):
            click.secho(note, fg="yellow", err=True)


class Interrupted(click.ClickException):
    """Raised when Ctrl-C ends a command's wait for the plugins; what the command recorded stays
    recorded, and the plugins finish with ``firebell run`` or ``firebell deliver``."""

    exit_code = 130

    def show(self, file: Any = None) -> None:
        """Print the message (what was recorded, what finishes it) as a note, not an error."""
        if sys.stderr.isatty():
            click.echo(err=True)  # on a line of its own, after the terminal's "^C"
        click.secho(self.message, fg="yellow", err=True)


pass_state = click.make_pass_decorator(CliState)


def json_option(function: F) -> F:
    """Add ``--json``."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)


def actor_option(function: F) -> F:
    """Add ``--as`` (who is acting; default ``cli:<login>``)."""
    return click.option(
        "--as",
        "actor",
        default=None,
        help="Who is acting (default cli:<your login>).",
    )(function)


def actor_id(given: str | None) -> str:
    """Who is acting: the person ``--as`` names, else ``cli:<your login>``."""
    if given:
        return person_id(given)
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli:unknown"
