"""``firebell web``: the web console (incidents, timelines, metrics) served by uvicorn.

Read-only and for this machine only by default; ``[firebell.web]`` in ``plugins.toml`` sets a
shared token for other clients and ``allow_actions`` (docs/web.md). When actions are allowed,
the delivery worker runs here too, so that an incident declared in the browser reaches the
plugins even without ``firebell run``.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
from firebell.adapters.cli.problems import CommandProblem
from firebell.adapters.listening import CannotListen, bind_sockets
from firebell.core import Firebell

__all__ = ["web"]

log = logging.getLogger("firebell.web")


def _deliver(firebell: Firebell, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            firebell.deliverer.run_forever(stop)
        except Exception:
            log.exception("the delivery worker failed; restarting it in 5s")
            stop.wait(5.0)


@click.command()
@click.option("--host", default=None, help="Address to listen on (default [firebell.web] host).")
@click.option(
    "--port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Port (default [firebell.web] port, 8080).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.pass_context
def web(ctx: click.Context, host: str | None, port: int | None, log_level: str) -> None:
    """Serve the web console: incident list, incident pages with timelines, metrics.

    Only clients on this machine get in, unless [firebell.web] token is set; then others send
    it as `Authorization: Bearer …` or open the page once with ?token=….
    """
    # Imported here: the other commands need neither Starlette nor Jinja.
    from firebell.adapters.web import serve, web_settings
    from firebell.adapters.web.access import is_local_address

    # Read-only, the console needs none of the plugins' secrets; with actions it delivers.
    firebell: Firebell = ctx.obj.open_to_read()
    settings = web_settings(firebell.settings)
    if settings.allow_actions:
        ctx.obj.open()  # refuses to start, as `firebell run` does, when a secret is not set
    host = host or settings.host
    port = settings.port if port is None else port
    if not is_local_address(host) and settings.token is None:
        click.secho(
            f"note: listening on {host}, but with no [firebell.web] token only requests from "
            "this machine are answered; others get 403.",
            fg="yellow",
            err=True,
        )
    try:  # before saying where it serves: a port in use is one line, not uvicorn's error
        sockets = bind_sockets(
            host,
            port,
            host_option="--host, or [firebell.web] host",
            port_option="--port, or [firebell.web] port",
        )
    except CannotListen as error:
        raise CommandProblem(str(error)) from None
    port = sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Firebell web console on http://{shown}:{port}/incidents (Ctrl-C stops it)")
    stop = threading.Event()

    def request_stop(_sig: int, _frame: FrameType | None) -> None:
        # uvicorn stops on SIGTERM/SIGINT, then hands the signal on to this handler.
        stop.set()
        firebell.deliverer.wake()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)
    worker = None
    if settings.allow_actions:
        click.echo("Actions are on: declare and resolve from the browser; delivering events here.")
        worker = threading.Thread(
            target=_deliver, args=(firebell, stop), name="firebell-deliverer", daemon=True
        )
        worker.start()
    try:
        serve(firebell, settings, host=host, port=port, log_level=log_level, sockets=sockets)
    finally:
        stop.set()
        firebell.deliverer.wake()
        if worker is not None:
            worker.join(30.0)
