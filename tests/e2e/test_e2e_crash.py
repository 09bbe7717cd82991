"""``firebell run`` killed with SIGKILL in the middle of delivering (a new incident, then its
resolve), with the real plugins and the fakes: after a restart every pending delivery is done,
and nothing exists, is posted or is sent twice.

The fakes run in the test's process, as remote services would; ``firebell run`` is a process of
its own serving Slack's HTTP requests (``SLACK_SIGNING_SECRET``, ``SLACK_API_URL`` pointing at the
fake Slack) on an SQLite log. A fake carries a write out and then holds its answer, so the kill
lands exactly between a vendor doing something and Firebell recording that it was done.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from e2e_support import (
    EndToEndSlack,
    Fakes,
    Secrets,
    holding,
    plugins_document,
    start_fakes,
    summary_form,
    to_toml,
    wait_for,
)
from firebell.core import IncidentState
from firebell.core.events import ResourceLinked
from firebell.core.outbox import Outbox
from firebell.core.store import EventStore

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class FirebellRun:
    """``firebell -v --config <config> run`` on a port of its own, started and killed at will."""

    def __init__(self, config: Path, keys: Secrets, fakes: Fakes, log_path: Path) -> None:
        self.config = config
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("FIREBELL_", "SLACK_"))},
            **keys.environ(),
            "SLACK_API_URL": fakes.slack.url + "/api/",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the process and wait until it serves ``/healthz``."""
        command = [
            sys.executable,
            "-m",
            "firebell.adapters.cli.main",
            "--config",
            str(self.config),
            "-v",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.starts += 1
        with self.log_path.open("a") as log:
            log.write(f"\n=== start {self.starts}\n")
            log.flush()
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

        def healthy() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"firebell run exited:\n{self.log()}")
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=60, what="firebell run to serve /healthz")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        assert self.process.returncode == -signal.SIGKILL

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        """What the process wrote so far (the last few thousand characters)."""
        return self.log_path.read_text(errors="replace")[-6000:]


@contextmanager
def firebell_run(config: Path, keys: Secrets, fakes: Fakes, folder: Path) -> Iterator[FirebellRun]:
    """A :class:`FirebellRun`, stopped at the end whatever happened."""
    run = FirebellRun(config, keys, fakes, folder / "firebell-run.log")
    try:
        yield run
    finally:
        run.stop()


def all_done(store: EventStore) -> bool:
    """Whether no delivery is pending."""
    return all(pending == 0 for pending, _ in backlog(store).values())


def backlog(store: EventStore) -> dict[str, tuple[int, int]]:
    """``(pending, failed)`` of every plugin with deliveries."""
    return {
        name: (figures.pending, figures.failed)
        for name, figures in Outbox(store, []).backlog().items()
    }


def test_a_process_killed_mid_delivery_finishes_after_a_restart_without_doubles(
    tmp_path: Path,
) -> None:
    keys = Secrets()
    with ExitStack() as stack:
        fakes = start_fakes(stack, tmp_path, keys)
        config = tmp_path / "plugins.toml"
        config.write_text(to_toml(plugins_document(fakes, tmp_path)), encoding="utf-8")
        store = EventStore(f"sqlite:///{tmp_path / 'firebell.db'}")
        stack.callback(store.dispose)
        run = stack.enter_context(firebell_run(config, keys, fakes, tmp_path))
        slack = EndToEndSlack(fakes.slack, run.url + "/slack/events", keys.signing_secret)
        stack.callback(slack.http.close)

        # 1. Killed while Slack has created the channel and Statuspage the status incident,
        #    neither answer received.
        run.start()
        with (
            holding(fakes.slack, "POST", r"/api/conversations\.create$") as channel,
            holding(fakes.statuspage, "POST", r"/incidents$") as status,
        ):
            slack.submit_declare_form("Checkout is down", customer_facing=True)
            channel.wait()
            status.wait()
            run.kill()
        [incident] = store.list_incidents()
        assert incident.resources == (), "nothing was recorded as done"
        assert len(fakes.slack.channels) == 2 and len(fakes.statuspage.incidents) == 1
        assert backlog(store)["slack"][0] >= 1

        # 2. Restarted, and killed again while PagerDuty has opened its incident and Notion
        #    created the post-mortem page (they wait for Slack, which is done by then).
        with (
            holding(fakes.pagerduty, "POST", r"^/incidents$") as page,
            holding(fakes.notion, "POST", r"^/v1/pages$") as document,
        ):
            run.start()
            page.wait()
            document.wait()
            run.kill()
        assert len(fakes.pagerduty.incidents) == 1 and len(fakes.notion.pages) == 1
        linked = {r.plugin for r in store.get_incident(incident.id).resources}  # type: ignore[union-attr]
        assert "pagerduty" not in linked and "notion" not in linked

        # 3. Restarted once more: everything left is delivered.
        run.start()
        wait_for(lambda: all_done(store), timeout=60, what="every delivery to be done")

        # 4. Resolved in Slack, and killed while Slack has posted "resolved" in the channel
        #    and Statuspage has resolved the status incident, neither answer received.
        channel_id = store.get_incident(incident.id).resource("channel").external_id  # type: ignore[union-attr]
        with (
            holding(fakes.slack, "POST", r"/api/chat\.postMessage$") as told,
            holding(fakes.statuspage, "PATCH", r"/incidents/[^/]+$") as resolved,
        ):
            sent = slack.command("/resolve-incident", channel_id=channel_id)
            view = slack.opened_view(sent)
            assert slack.submit(view, summary_form("Rolled back")).content == b""
            told.wait()
            resolved.wait()
            run.kill()
        assert fakes.statuspage.incidents[0]["status"] == "resolved"
        said = [
            m.get("metadata", {}).get("event_payload", {}).get("kind")
            for m in fakes.slack.messages(channel_id)
        ]
        assert "resolved" in said
        assert backlog(store)["slack"][0] >= 1 and backlog(store)["statuspage"][0] >= 1

        # 5. Restarted: the resolve is finished, nothing said or sent twice.
        run.start()
        wait_for(lambda: all_done(store), timeout=60, what="every delivery to be done")
        run.stop()

    assert all(failed == 0 for _, failed in backlog(store).values()), backlog(store)
    current = store.get_incident(incident.id)
    assert current is not None
    assert current.state is IncidentState.RESOLVED
    channels = [c for c in fakes.slack.channels.values() if c.name.startswith("incd-")]
    assert [c.name for c in channels] == [f"incd-{incident.id}-resolved"]
    assert len(fakes.pagerduty.incidents) == 1
    assert len(fakes.notion.pages) == 1
    assert len(fakes.statuspage.incidents) == 1
    links = [e.data for e in store.select_events(incident.id) if isinstance(e.data, ResourceLinked)]
    by_kind = {(link.plugin, link.kind): link.external_id for link in links}
    assert len(by_kind) == len(links), f"a link was recorded twice: {links}"
    assert by_kind[("slack", "channel")] == channels[0].id
    assert by_kind[("pagerduty", "pager-incident")] == fakes.pagerduty.incidents[0]["id"]
    assert by_kind[("notion", "document")] == fakes.notion.pages[0]["id"]
    assert by_kind[("statuspage", "status-incident")] == fakes.statuspage.incidents[0]["id"]
    # The restarted deliveries went on with what the killed ones had made.
    kinds = [
        m["metadata"]["event_payload"]["kind"]
        for m in fakes.slack.messages(channels[0].id)
        if m.get("metadata")
    ]
    assert kinds.count("summary") == kinds.count("resolved") == 1, kinds
    assert "integration-failed" not in kinds, "a kill is not a vendor failure"
    announced = [m for m in fakes.slack.messages(fakes.announce) if incident.id in m["text"]]
    assert len(announced) == 2, [m["text"] for m in announced]  # new, then resolved
    [status_incident] = fakes.statuspage.incidents
    updates = [u["status"] for u in status_incident["incident_updates"]]
    assert updates.count("resolved") == 1, updates
    assert fakes.pagerduty.incidents[0]["status"] == "resolved"
    page_properties = fakes.notion.page_properties(fakes.notion.pages[0]["id"])
    assert page_properties["PagerDuty"] == fakes.pagerduty.incidents[0]["html_url"]
    assert fakes.pagerduty.incidents[0]["incident_key"] == incident.id
