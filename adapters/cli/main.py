"""The ``firebell`` command line: declare and drive incidents, inspect the log and plugins.

The commands that show or change incidents (and ``plugins``, ``doctor``, ``stats``, ``replay``,
``db``) take ``--json`` for scripts (``timeline`` takes ``--format json``; ``export`` writes JSON
Lines); every command exits non-zero with a clear message on error.
After a command appends events, the enabled plugins get them before the command returns (for at
most ``--deliver-timeout`` seconds; what is left is delivered by ``firebell run`` or
``firebell deliver``). The command says what it recorded before that wait, and Ctrl-C during the
wait ends it at once: the events are in the log whatever the plugins do.
"""

from __future__ import annotations

import logging
import sys

import click
from firebell.adapters.cli import incident_commands, maintenance_commands, reading_commands
from firebell.adapters.cli.cli_state import CliState, Interrupted
from firebell.adapters.cli.lazy_group import LazyGroup
from firebell.core import ConfigError, FirebellError
from firebell.core.delivery_attempts import RETRYING

from firebell import __version__

__all__ = ["LAZY_COMMANDS", "CliState", "Interrupted", "cli", "main"]


#: Commands in modules of their own, imported only when run (or listed by --help).
_CLI = "firebell.adapters.cli"
LAZY_COMMANDS = {
    "demo": f"{_CLI}.demo_command:demo",
    "db": f"{_CLI}.db_command:db",
    "doctor": f"{_CLI}.doctor_command:doctor",
    "export": f"{_CLI}.export_command:export",
    "new-plugin": f"{_CLI}.new_plugin_command:new_plugin",
    "web": f"{_CLI}.web_command:web",
    "run": f"{_CLI}.run_command:run",
    # The incident's record and metrics (docs/timeline.md).
    "timeline": f"{_CLI}.timeline_command:timeline",
    "note": f"{_CLI}.timeline_command:note",
    "followup": f"{_CLI}.timeline_command:followup",
    "followups": f"{_CLI}.timeline_command:followups",
    "followup-done": f"{_CLI}.timeline_command:followup_done",
    "stats": f"{_CLI}.stats_command:stats",
}


_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class _OneLineFormatter(logging.Formatter):
    """Each log record on one line: an exception as its type and message, without the traceback.

    A plugin that raises while a command delivers is reported to the person at the terminal in
    a line; the traceback is for whoever debugs the plugin, with ``-v``.
    """

    def format(self, record: logging.LogRecord) -> str:
        error = record.exc_info[1] if record.exc_info else None
        if error is None:
            return super().format(record)
        plain = logging.makeLogRecord(
            {**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None}
        )
        detail = " ".join(str(error).split())
        return f"{super().format(plain)}: {type(error).__name__}: {detail} (-v shows the traceback)"


def _said_by_the_note(record: logging.LogRecord) -> bool:
    """Whether to show ``record``: not a retried delivery's failure, nor slack_sdk's own line
    about a request that failed (the delivery's failure, which the closing note gives)."""
    if getattr(record, RETRYING, False):
        return False
    return not record.name.startswith("slack_sdk.")


@click.group(
    cls=LazyGroup,
    lazy_commands=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="firebell")
@click.option(
    "--config",
    "config",
    envvar="FIREBELL_CONFIG",
    type=click.Path(dir_okay=False),
    default=None,
    help="plugins.toml to use (default ./plugins.toml; env FIREBELL_CONFIG).",
)
@click.option(
    "--deliver-timeout",
    default=60.0,
    show_default=True,
    help="Seconds to wait for plugins after a command.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log each delivery.")
@click.pass_context
def cli(ctx: click.Context, config: str | None, deliver_timeout: float, verbose: bool) -> None:
    """Firebell: Slack-based incident management on an event-sourced engine."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter((logging.Formatter if verbose else _OneLineFormatter)(_LOG_FORMAT))
    if not verbose:
        # The command's closing note says what failed and what comes next, once.
        handler.addFilter(_said_by_the_note)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    state = CliState(config, deliver_timeout)
    ctx.obj = state
    ctx.call_on_close(state.close)


# The light commands are loaded with the group (they import nothing heavy): the ones that
# change an incident, the ones that only read, and those that look after the log and deliveries.
for _command in (
    incident_commands.declare,
    incident_commands.resolve,
    incident_commands.reopen,
    incident_commands.close,
    incident_commands.severity,
    incident_commands.update,
    incident_commands.commander,
    reading_commands.list_incidents,
    reading_commands.show,
    reading_commands.plugins,
    maintenance_commands.replay,
    maintenance_commands.retry,
    maintenance_commands.deliver,
):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``firebell`` console script."""
    try:
        code = cli.main(args=argv, prog_name="firebell", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except ConfigError as error:
        click.secho(f"error: {error}", fg="red", err=True)
        sys.exit(2)
    except FirebellError as error:
        click.secho(f"error: {error}", fg="red", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
