"""``firebell demo``: a whole incident lifecycle on the local plugins, no credentials needed.

It writes a ``plugins.toml`` with the ``console`` announcer and the ``markdown`` post-mortem
store into a folder, then declares, updates, escalates, resolves and closes an incident, and
prints the timeline, the post-mortem file and the web console address: what a new user sees
first.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
from firebell.adapters.cli.output import print_incident
from firebell.adapters.cli.problems import writing
from firebell.adapters.web.settings import web_settings
from firebell.core import open_firebell
from firebell.core.timeline_commands import add_follow_up, add_note

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
    config = root / "plugins.toml"
    with writing(folder, option="--folder"):
        root.mkdir(parents=True, exist_ok=True)
        if not config.exists():
            config.write_text(DEMO_CONFIG.format(folder=root.as_posix()), encoding="utf-8")
    firebell = open_firebell(config)
    try:
        engine = firebell.engine
        created = engine.declare(
            title="Checkout requests failing",
            description="Error rate on /checkout above 20% since 14:00 UTC; payments affected.",
            severity="SEV1",
            reporter="cli:demo-reporter",
            source="demo",
        )
        name = created.incident.id
        firebell.deliverer.drain()
        engine.assign_commander(name, "cli:demo-commander", actor="cli:demo-reporter")
        engine.post_update(
            name, "Rolled back the 13:55 deploy; error rate falling.", actor="cli:demo-commander"
        )
        add_note(engine, name, "Deploy 4711 correlates with the errors.", actor="cli:demo-reporter")
        engine.change_severity(name, "SEV2", actor="cli:demo-commander")
        add_follow_up(
            engine,
            name,
            "Alert on the checkout error rate before customers notice",
            actor="cli:demo-commander",
            owner="cli:demo-reporter",
        )
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
        program = _program()
        click.echo(
            f"  try:         {program} --config {config} list    "
            f"/    {program} --config {config} show {name}"
        )
        web = web_settings(firebell.settings)
        click.echo("")
        click.secho(
            f"See it in the browser: {program} --config {config} web  →  "
            f"http://{web.host}:{web.port}/incidents/{name}",
            bold=True,
        )
    finally:
        firebell.close()


def _program() -> str:
    """How to call this ``firebell`` again: by name when it is on PATH, else by its path."""
    invoked = Path(sys.argv[0])
    on_path = shutil.which("firebell")
    if on_path and Path(on_path).resolve() == invoked.resolve():
        return "firebell"
    return str(invoked) if invoked.name == "firebell" else "firebell"
