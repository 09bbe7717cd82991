"""``firebell demo``: a whole incident lifecycle on the local plugins, no credentials needed.

It writes a ``plugins.toml`` with the ``console`` announcer and the ``markdown`` post-mortem
store into a folder, then declares, updates, escalates, resolves and closes an incident, and
prints the timeline, the post-mortem file and the web console address: what a new user sees
first.
"""

from __future__ import annotations

from pathlib import Path

import click
from firebell.adapters.cli.output import print_incident
from firebell.adapters.web.settings import web_settings
from firebell.core import open_firebell

__all__ = ["DEMO_CONFIG", "demo"]

DEMO_CONFIG = """\
# Written by `firebell demo`: the local plugins only, an SQLite log beside this file.
[firebell]
database_url = "sqlite:///{folder}/firebell.db"

[plugins.console]

[plugins.markdown]
folder = "{folder}/postmortems"
"""


@click.command()
@click.option(
    "--folder",
    default="firebell-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the demo's plugins.toml, log and post-mortems go.",
)
def demo(folder: str) -> None:
    """Run a full local incident lifecycle and show its timeline and post-mortem."""
    root = Path(folder).resolve()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "plugins.toml"
    if not config.exists():
        config.write_text(DEMO_CONFIG.format(folder=root.as_posix()), encoding="utf-8")
    firebell = open_firebell(config)
    try:
        engine = firebell.engine
        steps = []
        created = engine.declare(
            title="Checkout requests failing",
            description="Error rate on /checkout above 20% since 14:00 UTC; payments affected.",
            severity="SEV1",
            reporter="cli:demo-reporter",
            source="demo",
        )
        name = created.incident.id
        steps.append(f"declared {name}")
        firebell.deliverer.drain()
        engine.assign_commander(name, "cli:demo-commander", actor="cli:demo-reporter")
        engine.post_update(
            name, "Rolled back the 13:55 deploy; error rate falling.", actor="cli:demo-commander"
        )
        engine.change_severity(name, "SEV2", actor="cli:demo-commander")
        engine.resolve(name, actor="cli:demo-commander", summary="Error rate back to normal.")
        firebell.deliverer.drain()
        engine.close(name, actor="cli:demo-commander", summary="Post-mortem held.")
        firebell.deliverer.drain()

        click.echo("")
        incident = engine.get(name)
        print_incident(incident, firebell.store.select_events(name))
        document = incident.resource("document")
        if document is not None:
            path = Path(document.external_id)
            click.echo("")
            click.secho(f"Post-mortem: {path}", bold=True)
            click.echo(path.read_text(encoding="utf-8"))
        click.echo("")
        click.secho("What just happened", bold=True)
        click.echo(f"  config:      {config}")
        click.echo(f"  event log:   {root / 'firebell.db'}")
        click.echo(
            f"  try:         firebell --config {config} list    "
            f"/    firebell --config {config} show {name}"
        )
        web = web_settings(firebell.settings)
        click.echo("")
        click.secho(
            f"See it in the browser: firebell --config {config} web  →  "
            f"http://{web.host}:{web.port}/incidents/{name}",
            bold=True,
        )
    finally:
        firebell.close()
