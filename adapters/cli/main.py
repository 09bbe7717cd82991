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

import getpass
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import click
from firebell.adapters.cli.lazy_group import LazyGroup
from firebell.adapters.cli.output import (
    echo_json,
    incident_json,
    print_incident,
    print_incident_table,
)
from firebell.adapters.cli.people import person_id, person_text
from firebell.core import (
    AppendResult,
    ConfigError,
    Firebell,
    FirebellError,
    IncidentState,
    open_firebell,
)
from firebell.core.plugin_host import create_plugin_manager

from firebell import __version__

__all__ = ["CliState", "Interrupted", "cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])


class CliState:
    """What every subcommand shares: the config path and the Firebell opened on first use."""

    def __init__(self, config: str | None, deliver_timeout: float) -> None:
        self.config = config
        self.deliver_timeout = deliver_timeout
        self._firebell: Firebell | None = None

    def open(self) -> Firebell:
        """The Firebell for ``--config`` (opened once)."""
        if self._firebell is None:
            self._firebell = open_firebell(self.config)
        return self._firebell

    def close(self) -> None:
        """Close what :meth:`open` opened, without waiting again for a plugin call that hangs
        (:meth:`deliver` gave it its grace already; see :meth:`Deliverer.close`)."""
        if self._firebell is not None:
            self._firebell.deliverer.close(wait_for=0.0)
            self._firebell.close()
            self._firebell = None

    def deliver(self) -> None:
        """Give the new events to the plugins now (for at most ``--deliver-timeout`` seconds and
        a short grace), and say what is left: calls still running, pending and failed ones.

        Ctrl-C while waiting raises :class:`Interrupted` at once (the calls under way are left to
        end with the process; their deliveries run again, see :meth:`Deliverer.close`), and a
        second Ctrl-C ends the process outright.
        """
        firebell = self.open()
        try:
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
        for running in firebell.deliverer.running():
            claim = running.claim
            click.secho(
                f"note: plugin {claim.plugin} is still delivering {claim.event_type} of "
                f"{claim.incident_id} after --deliver-timeout {self.deliver_timeout:g}s; "
                "not waiting for it any longer. Nothing is lost: its lease ends at "
                f"{running.lease_until:%H:%M:%S} UTC, then `firebell run` (or the next command) "
                "delivers it again; on this machine sooner: `firebell deliver` at once, a "
                "running `firebell run` within 10 s.",
                fg="yellow",
                err=True,
            )
        backlog = firebell.deliverer.outbox.backlog()
        for figures in backlog.values():
            if figures.pending or figures.failed:
                error = firebell.redact(figures.last_error or "-").rstrip(".")
                if figures.plugin not in firebell.host.enabled:
                    # No command delivers to a plugin that is off: advising one would mislead.
                    last = f"; last error: {error}" if figures.last_error else ""
                    click.secho(
                        f"note: plugin {figures.plugin} is switched off: {figures.pending} "
                        f"pending, {figures.failed} failed{last}. "
                        f"{_waiting_for(firebell, figures.plugin)}",
                        fg="yellow",
                        err=True,
                    )
                    continue
                what_next = []
                if figures.pending:
                    what_next.append(
                        "`firebell run` (or `firebell deliver`) delivers the pending ones"
                    )
                if figures.failed:
                    what_next.append(
                        f"run `firebell retry --plugin {figures.plugin}` after fixing the cause "
                        "of the failed ones"
                    )
                advice = "; ".join(what_next)
                click.secho(
                    f"note: plugin {figures.plugin}: {figures.pending} pending, "
                    f"{figures.failed} failed; last error: {error}. "
                    f"{advice[0].upper()}{advice[1:]}.",
                    fg="yellow",
                    err=True,
                )


def _waiting_for(firebell: Firebell, plugin: str) -> str:
    """What a switched-off plugin's deliveries wait for, since no command makes them."""
    table = firebell.settings.plugins.get(plugin)
    switch = (
        f"`enabled = true` in [plugins.{plugin}]"
        if table is not None
        else f"its [plugins.{plugin}] table back"
    )
    where = firebell.settings.path or "plugins.toml"
    return (
        f"They wait until it is switched on again in {where} ({switch}); "
        "no command delivers to it before."
    )


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


def _actor(actor: str | None) -> str:
    if actor:
        return person_id(actor)
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli:unknown"


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
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    state = CliState(config, deliver_timeout)
    ctx.obj = state
    ctx.call_on_close(state.close)


def _report(
    state: CliState,
    result: AppendResult,
    as_json: bool,
    verb: str,
    recorded: str | None = None,
) -> None:
    """Say what the command recorded, then give it to the plugins.

    The text is printed before the plugins' turn, so that the incident's name is known however
    long they take. The JSON comes after it, with what they linked (``resources``), unless
    Ctrl-C cuts the wait short: then it is printed at once, and the note on standard error says
    that the incident ``recorded`` (``was <verb>`` by default) and the plugins finish later.
    """
    incident = result.incident
    if not as_json:
        note = " (already done earlier with the same idempotency key)" if result.duplicate else ""
        click.echo(
            f"{incident.id}: {verb}{note}. State: {incident.state.value}, {incident.severity}."
        )
    if not result.duplicate:
        try:
            state.deliver()
        except Interrupted:
            if as_json:
                echo_json({"incident": incident_json(incident), "duplicate": False})
            raise Interrupted(
                f"Incident {incident.id} {recorded or f'was {verb}'}; its integrations will "
                "finish with `firebell run` (or `firebell deliver`)."
            ) from None
    if as_json:
        incident = state.open().store.get_incident(incident.id) or incident
        echo_json({"incident": incident_json(incident), "duplicate": result.duplicate})


@cli.command()
@click.argument("title")
@click.option("-d", "--description", default="", help="What is happening.")
@click.option("-s", "--severity", default=None, help="Severity name (default from plugins.toml).")
@click.option(
    "--customer-facing", is_flag=True, help="Customers see it (opens a status page incident)."
)
@click.option("--key", "idempotency_key", default=None, help="Idempotency key: repeat safely.")
@actor_option
@json_option
@pass_state
def declare(
    state: CliState,
    title: str,
    description: str,
    severity: str | None,
    customer_facing: bool,
    idempotency_key: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Declare an incident called TITLE."""
    result = state.open().engine.declare(
        title=title,
        description=description,
        severity=severity,
        customer_facing=customer_facing,
        reporter=_actor(actor),
        source="cli",
        idempotency_key=idempotency_key,
    )
    _report(state, result, as_json, "declared")


@cli.command()
@click.argument("name")
@click.option("--summary", default="", help="What fixed it.")
@actor_option
@json_option
@pass_state
def resolve(state: CliState, name: str, summary: str, actor: str | None, as_json: bool) -> None:
    """Mark incident NAME resolved."""
    result = state.open().engine.resolve(name, actor=_actor(actor), summary=summary)
    _report(state, result, as_json, "resolved")


@cli.command()
@click.argument("name")
@click.option("--reason", default="", help="Why it is not over.")
@actor_option
@json_option
@pass_state
def reopen(state: CliState, name: str, reason: str, actor: str | None, as_json: bool) -> None:
    """Reopen resolved incident NAME."""
    result = state.open().engine.reopen(name, actor=_actor(actor), reason=reason)
    _report(state, result, as_json, "reopened")


@cli.command()
@click.argument("name")
@click.option("--summary", default="", help="Outcome of the post-mortem.")
@click.option("--yes", "-y", is_flag=True, help="Close without asking, even with no follow-ups.")
@actor_option
@json_option
@pass_state
def close(
    state: CliState, name: str, summary: str, yes: bool, actor: str | None, as_json: bool
) -> None:
    """Close resolved incident NAME after its post-mortem."""
    from firebell.adapters.cli.timeline_command import confirm_close

    confirm_close(state.open(), name, yes=yes)
    result = state.open().engine.close(name, actor=_actor(actor), summary=summary)
    _report(state, result, as_json, "closed")


@cli.command()
@click.argument("name")
@click.argument("level")
@actor_option
@json_option
@pass_state
def severity(state: CliState, name: str, level: str, actor: str | None, as_json: bool) -> None:
    """Change the severity of incident NAME to LEVEL."""
    result = state.open().engine.change_severity(name, level, actor=_actor(actor))
    now = result.incident.severity
    _report(state, result, as_json, f"severity is now {now}", f"is now {now}")


@cli.command()
@click.argument("name")
@click.argument("text")
@click.option("--public", is_flag=True, help="Also publish it on the status page.")
@actor_option
@json_option
@pass_state
def update(
    state: CliState, name: str, text: str, public: bool, actor: str | None, as_json: bool
) -> None:
    """Post a status update TEXT on incident NAME."""
    result = state.open().engine.post_update(name, text, actor=_actor(actor), public=public)
    _report(state, result, as_json, "update posted", "has the update")


@cli.command()
@click.argument("name")
@click.argument("person")
@actor_option
@json_option
@pass_state
def commander(state: CliState, name: str, person: str, actor: str | None, as_json: bool) -> None:
    """Make PERSON (a Slack user id, or a mention pasted from Slack) the commander of NAME."""
    person = person_id(person)
    result = state.open().engine.assign_commander(name, person, actor=_actor(actor))
    shown = person_text(person, result.incident.names)
    _report(state, result, as_json, f"{shown} is commander", f"has {shown} as commander")


@cli.command(name="list")
@click.option(
    "--state",
    "state_filter",
    type=click.Choice([s.value for s in IncidentState]),
    default=None,
    help="Only incidents in this state.",
)
@click.option("--severity", "severity_filter", default=None, help="Only this severity.")
@click.option("--search", default=None, help="Text in the name or title.")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many (newest first).",
)
@click.option(
    "--offset", default=0, type=click.IntRange(min=0), help="Skip this many (for paging)."
)
@json_option
@pass_state
def list_incidents(
    state: CliState,
    state_filter: str | None,
    severity_filter: str | None,
    search: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """List incidents, newest first."""
    firebell = state.open()
    incidents = firebell.store.list_incidents(
        state=IncidentState(state_filter) if state_filter else None,
        severity=_configured_severity(firebell, severity_filter),
        search=search,
        limit=limit,
        offset=offset,
    )
    if as_json:
        echo_json([incident_json(i) for i in incidents])
    else:
        print_incident_table(incidents)


def _configured_severity(firebell: Firebell, name: str | None) -> str | None:
    """The configured severity ``name`` stands for (any case), as ``stats --severity`` reads it;
    a usage error listing the severities when there is none (a filter on it would match none)."""
    if name is None:
        return None
    found = firebell.settings.severity(name)
    if found is None:
        names = ", ".join(s.name for s in firebell.settings.severities)
        raise click.BadParameter(f"{name!r} is not one of {names}", param_hint="--severity")
    return found.name


@cli.command()
@click.argument("name")
@json_option
@pass_state
def show(state: CliState, name: str, as_json: bool) -> None:
    """Show incident NAME: state, links and full timeline."""
    firebell = state.open()
    incident = firebell.engine.get(name)
    events = firebell.store.select_events(incident.id)
    # What the plugins have not done of it: pending, parked, skipped (with why).
    undone = [
        attrs.evolve(b, last_error=firebell.redact(b.last_error) if b.last_error else None)
        for b in firebell.deliverer.outbox.backlog(incident_id=incident.id).values()
        if b.pending or b.failed or b.skipped
    ]
    if as_json:
        from firebell.adapters.cli.output import event_json

        echo_json(
            {
                "incident": incident_json(incident),
                "events": [event_json(e) for e in events],
                "deliveries": {
                    b.plugin: attrs.asdict(b, filter=lambda a, _: a.name != "plugin")
                    for b in undone
                },
            }
        )
    else:
        print_incident(incident, events, undone)


@cli.command()
@json_option
@pass_state
def plugins(state: CliState, as_json: bool) -> None:
    """List plugins: enabled or not, where from, backlog and last error."""
    firebell = state.open()
    backlog = firebell.deliverer.outbox.backlog()
    # The host imported only the enabled plugins; import the others too, to report their errors.
    _, everything = create_plugin_manager()
    rows = []
    for name, installed in sorted({**everything, **firebell.host.installed}.items()):
        if name not in firebell.host.enabled and name in everything:
            installed = everything[name]
        figures = backlog.get(name)
        rows.append(
            {
                "name": name,
                "enabled": name in firebell.host.enabled,
                "source": installed.source,
                "import_error": installed.error,
                "pending": figures.pending if figures else 0,
                "failed": figures.failed if figures else 0,
                "delivered": figures.done if figures else 0,
                "skipped": figures.skipped if figures else 0,
                "last_error": firebell.redact(figures.last_error)
                if figures and figures.last_error
                else None,
                "skip_reason": figures.skip_reason if figures else None,
                "after": list(firebell.host.enabled[name].after)
                if name in firebell.host.enabled
                else [],
            }
        )
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        status = "enabled " if row["enabled"] else "disabled"
        skipped = f" skipped={row['skipped']}" if row["skipped"] else ""
        click.echo(
            f"{row['name']:<12} {status} {row['source']:<24} "
            f"pending={row['pending']} failed={row['failed']} delivered={row['delivered']}"
            f"{skipped}"
        )
        if row["import_error"]:
            click.secho(f"{'':<12} import error: {row['import_error']}", fg="red")
        if row["last_error"]:
            click.secho(f"{'':<12} last error: {row['last_error']}", fg="yellow")
        if row["skip_reason"]:
            click.secho(f"{'':<12} last {row['skip_reason']}", fg="yellow")


@cli.command()
@json_option
@pass_state
def replay(state: CliState, as_json: bool) -> None:
    """Rebuild the read model from the event log (same result, from scratch)."""
    store = state.open().store
    total = store.count_events()
    with click.progressbar(length=total, label="Replaying events", file=sys.stderr) as bar:
        seen = 0

        def progress(count: int) -> None:
            nonlocal seen
            bar.update(count - seen)
            seen = count

        count = store.rebuild_read_model(progress)
    incidents = store.count_incidents()
    if as_json:
        echo_json({"events": count, "incidents": incidents})
    else:
        click.echo(f"Rebuilt {incidents} incidents from {count} events.")


@cli.command()
@click.option("--plugin", default=None, help="Only this plugin's deliveries.")
@click.option(
    "--skipped",
    is_flag=True,
    help="Deliver the skipped deliveries instead (incidents that ended while the plugin was "
    "off), with the events the plugin missed.",
)
@pass_state
def retry(state: CliState, plugin: str | None, skipped: bool) -> None:
    """Queue parked (failed) deliveries again, after fixing their cause, and deliver.

    With --skipped: deliver anyway what was skipped because the incident ended while the
    plugin was switched off; the plugin also gets the events it missed, so it hears the end.
    """
    firebell = state.open()
    if plugin is not None:
        # A plugin no longer installed may still have deliveries in the log; a typo has none.
        known = sorted({*firebell.host.installed, *firebell.deliverer.outbox.backlog()})
        if plugin not in known:
            raise click.BadParameter(
                f"no plugin {plugin!r} is installed or has deliveries; known plugins: "
                f"{', '.join(known) or 'none'}",
                param_hint="--plugin",
            )
    now = firebell.engine.clock()
    if skipped:
        count = firebell.deliverer.stale.requeue_skipped(plugin=plugin, now=now)
    else:
        count = firebell.deliverer.outbox.requeue_failed(plugin=plugin, now=now)
    click.echo(f"Queued {count} deliveries again.")
    state.deliver()


@cli.command()
@pass_state
def deliver(state: CliState) -> None:
    """Deliver pending events to the plugins now (what `firebell run` does continuously).

    Reminders that fell due are sent first (docs/timeline.md), so a cron job of
    `firebell deliver` keeps them going without `firebell run`.
    """
    from firebell.core.reminders import ReminderScheduler

    firebell = state.open()
    firebell.deliverer.release_dead_leases()
    ReminderScheduler(firebell.engine).run_once()
    state.deliver()
    click.echo("Delivered what was due.")


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
