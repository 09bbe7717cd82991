"""``firebell run``: the Slack bot and the delivery worker in one long-running process.

With ``SLACK_APP_TOKEN`` set the bot connects out through Socket Mode (no public URL needed);
otherwise it serves Slack's HTTP requests with uvicorn on ``--port`` at ``/slack/events``, each
verified with ``SLACK_SIGNING_SECRET``, and answers ``/healthz``. ``SLACK_BOT_TOKEN`` is always
needed. The bot talks to the Web API the Slack plugin does: ``api_url`` of ``[plugins.slack]``
when set (GovSlack, tests), else ``SLACK_API_URL``, else Slack's own.

The delivery worker runs in a thread of the same process: it wakes whenever a command commits
events, and on start it picks up whatever an earlier process left unfinished. Another thread sends
the reminders that fall due (no update for a while, no commander, the post-mortem; see
docs/timeline.md). SIGTERM and SIGINT stop them gracefully. With ``[firebell.web] enabled = true`` the web console is served too, on
its own port (docs/web.md).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

import click
import uvicorn
from firebell.adapters.cli.problems import CommandProblem
from firebell.adapters.listening import CannotListen, bind_sockets
from firebell.adapters.slack import (
    SlackSetupError,
    build_app,
    create_asgi_app,
    database_check,
)
from firebell.adapters.web import start_in_background
from firebell.core import Firebell, open_firebell
from firebell.core.reminders import ReminderScheduler
from firebell.plugins.slack.client import api_url_problem
from slack_bolt import App

__all__ = ["SettingMissing", "run"]

log = logging.getLogger("firebell.run")

_WORKER_RESTART_PAUSE = 5.0
_WORKER_JOIN_TIMEOUT = 30.0


class SettingMissing(click.ClickException):
    """Raised when an environment variable ``firebell run`` needs is missing or refused."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        """Print ``error: <message>`` (no usage text: the fix is in the environment)."""
        click.secho(f"error: {self.format_message()}", fg="red", err=True)


def _settings_from(environ: Mapping[str, str]) -> tuple[str, str, str, str | None]:
    """The bot token, app token, signing secret and API URL, checked for the chosen mode."""
    bot_token = environ.get("SLACK_BOT_TOKEN", "").strip()
    app_token = environ.get("SLACK_APP_TOKEN", "").strip()
    signing_secret = environ.get("SLACK_SIGNING_SECRET", "").strip()
    api_url = environ.get("SLACK_API_URL", "").strip() or None
    if api_url is not None:
        problem = api_url_problem("SLACK_API_URL", api_url)
        if problem is not None:
            raise SettingMissing(problem)
    if not bot_token:
        raise SettingMissing(
            "SLACK_BOT_TOKEN is not set. Export the Bot User OAuth Token (xoxb-…) from your "
            "Slack app's OAuth & Permissions page (docs/slack-setup.md)."
        )
    if app_token and not app_token.startswith("xapp-"):
        raise SettingMissing(
            "SLACK_APP_TOKEN must be an app-level token (xapp-…) with the connections:write "
            "scope, from the app's Basic Information page. Unset it to serve HTTP instead."
        )
    if not app_token and not signing_secret:
        raise SettingMissing(
            "SLACK_SIGNING_SECRET is not set. Without SLACK_APP_TOKEN Firebell serves HTTP and "
            "verifies every request with the Signing Secret (the app's Basic Information page). "
            "Set it, or set SLACK_APP_TOKEN (xapp-…) to use Socket Mode."
        )
    return bot_token, app_token, signing_secret, api_url


def _configured_api_url(firebell: Firebell) -> str | None:
    """``api_url`` of ``[plugins.slack]``, or None when it is not set there.

    The plugin's value wins over ``SLACK_API_URL``, as it does for the plugin itself, so the bot
    and the plugin always talk to the same Slack. A switched-off table still counts: its channels
    live in the same workspace once it is switched on again.
    """
    plugin = firebell.host.enabled.get("slack")
    if plugin is not None:
        configured: str | None = getattr(plugin.config, "api_url", None)
        return configured
    table = firebell.settings.plugins.get("slack")
    value = table.options.get("api_url") if table is not None else None
    if not isinstance(value, str) or not value.strip():
        return None
    problem = api_url_problem("[plugins.slack] api_url", value.strip())
    if problem is not None:
        raise SettingMissing(problem)
    return value.strip()


def _open(ctx: click.Context) -> Firebell:
    """The Firebell the main group opens for ``--config`` (or the default one when run alone)."""
    state = ctx.obj
    if state is not None and hasattr(state, "open"):
        firebell: Firebell = state.open()
        return firebell
    return open_firebell(None)


def _deliver_forever(firebell: Firebell, stop: threading.Event) -> None:
    # run_forever survives an unavailable database by itself; anything else would kill the
    # thread silently and leave incidents undelivered, so log it and start again.
    while not stop.is_set():
        try:
            firebell.deliverer.run_forever(stop)
        except Exception:
            log.exception(
                "the delivery worker failed; restarting it in %.0fs", _WORKER_RESTART_PAUSE
            )
            stop.wait(_WORKER_RESTART_PAUSE)


def _on_signals(handler: Callable[[int, FrameType | None], None]) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def _bind(host: str, port: int) -> list[socket.socket]:
    """The HTTP port, bound before anything says Firebell serves there (uvicorn's own bind
    failed after that line, with its raw error)."""
    try:
        return bind_sockets(host, port)
    except CannotListen as error:
        raise CommandProblem(str(error)) from None


def _serve_http(
    bolt_app: App,
    *,
    firebell: Firebell,
    worker: threading.Thread,
    signing_secret: str,
    sockets: list[socket.socket],
    host: str,
    port: int,
    log_level: str,
) -> None:
    def worker_check() -> str | None:
        return None if worker.is_alive() else "the delivery worker is not running"

    asgi = create_asgi_app(
        bolt_app, signing_secret=signing_secret, checks=[database_check(firebell), worker_check]
    )
    config = uvicorn.Config(
        asgi,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    shown = f"[{host}]" if ":" in host else host
    log.info(
        "serving Slack requests on http://%s:%d/slack/events", shown, sockets[0].getsockname()[1]
    )
    # uvicorn handles SIGTERM/SIGINT while it runs (finishing requests in flight), then re-raises
    # the signal to the handlers installed before it: ours, which only ask the worker to stop.
    uvicorn.Server(config).run(sockets=sockets)


def _serve_socket_mode(bolt_app: App, *, app_token: str, stop: threading.Event) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    handler = SocketModeHandler(bolt_app, app_token)
    try:
        handler.connect()  # type: ignore[no-untyped-call]
    except SlackApiError as error:
        raise SettingMissing(
            f"Slack refused SLACK_APP_TOKEN: {error.response.get('error')}. Generate an "
            "app-level token with the connections:write scope on the app's Basic Information "
            "page, and check that Socket Mode is enabled."
        ) from None
    log.info("connected to Slack in Socket Mode")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        handler.close()  # type: ignore[no-untyped-call]


@click.command()
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.pass_context
def run(ctx: click.Context, port: int, host: str, log_level: str) -> None:
    """Run the Slack bot and deliver events to the plugins until stopped.

    Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP on --port (path /slack/events,
    health check /healthz), verified with SLACK_SIGNING_SECRET. SLACK_BOT_TOKEN is always needed.
    """
    # Firebell's own log at the chosen level; libraries stay at the main group's (-v for more).
    logging.getLogger("firebell").setLevel(log_level.upper())
    bot_token, app_token, signing_secret, api_url = _settings_from(os.environ)
    firebell = _open(ctx)
    api_url = _configured_api_url(firebell) or api_url
    try:
        bolt_app = build_app(
            firebell,
            bot_token=bot_token,
            signing_secret=signing_secret or None,
            api_url=api_url,
        )
    except SlackSetupError as error:
        raise SettingMissing(str(error)) from None
    sockets = [] if app_token else _bind(host, port)

    stop = threading.Event()

    def request_stop(sig: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(sig).name)
        stop.set()
        firebell.deliverer.wake()

    _on_signals(request_stop)
    # Start-up leaves a large heap that lives as long as the process (SQLAlchemy, Bolt, the
    # vendor clients). A full collection walked all of it with every thread stopped: 230 ms in
    # the middle of a burst of declarations. Frozen, collections walk only what came after.
    gc.collect()
    gc.freeze()
    try:  # [firebell.web] enabled = true: the web console on its own port (docs/web.md)
        web_console = start_in_background(firebell, log_level=log_level)
    except CannotListen as error:
        raise CommandProblem(str(error)) from None
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    worker = threading.Thread(
        target=_deliver_forever, args=(firebell, stop), name="firebell-deliverer", daemon=True
    )
    worker.start()
    # Reminders are derived from the log and keyed on when they fell due, so this thread may
    # stop at any moment and several processes may run it: none is lost or sent twice.
    reminders = threading.Thread(
        target=ReminderScheduler(firebell.engine).run_forever,
        args=(stop,),
        name="firebell-reminders",
        daemon=True,
    )
    reminders.start()
    try:
        if app_token:
            _serve_socket_mode(bolt_app, app_token=app_token, stop=stop)
        else:
            _serve_http(
                bolt_app,
                firebell=firebell,
                worker=worker,
                signing_secret=signing_secret,
                sockets=sockets,
                host=host,
                port=port,
                log_level=log_level,
            )
    finally:
        stop.set()
        firebell.deliverer.wake()
        if web_console is not None:
            web_console.stop()
        reminders.join(_WORKER_JOIN_TIMEOUT)
        worker.join(_WORKER_JOIN_TIMEOUT)
        if worker.is_alive():
            log.warning("deliveries still running at exit; the next start resumes them")
        log.info("stopped")
