"""What a command says about the deliveries it left undone: one line for the plugins that only
have pending deliveries, a plugin's last error only when there is one, and when a retrying
delivery's next attempt is (also in ``plugins`` and ``show``), which ``retry`` brings forward."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import Outcome, install_on_path, run_firebell, write_config


def fb(config: Path, *args: str) -> Outcome:
    """``firebell --config CONFIG ARGS``, which must succeed."""
    outcome = run_firebell(["--config", str(config), *args])
    assert outcome.code == 0, outcome
    return outcome


def notes(outcome: Outcome) -> list[str]:
    """The notes on standard error (the console plugin writes its lines there too)."""
    return [line for line in outcome.stderr.splitlines() if line.startswith("note:")]


def test_with_no_time_to_deliver_one_line_says_what_is_pending(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    declared = fb(config, "--deliver-timeout", "0", "declare", "Disk full", "--json")
    name = declared.json()["incident"]["id"]
    updated = fb(config, "--deliver-timeout", "0", "update", name, "Cleaning up")

    assert notes(declared) == [
        "note: pending deliveries: console 1, markdown 1; none failed. `firebell run` (or "
        "`firebell deliver`) delivers them."
    ]
    [pending] = notes(updated)
    assert pending.startswith("note: pending deliveries: console 2, markdown ")
    assert "last error" not in declared.stderr + updated.stderr
    assert notes(fb(config, "deliver")) == []


#: A third-party plugin whose vendor is down while a file ``down`` lies beside it.
DOWN_VENDOR = textwrap.dedent(
    """
    from pathlib import Path

    from firebell.core import Link, RetryLater, hookimpl

    DOWN = Path(__file__).with_name("down")


    @hookimpl
    def firebell_incident_created(incident):
        if DOWN.exists():
            raise RetryLater("could not reach the vendor", retry_after=600)
        return Link("document", f"vendor-{incident.id}", None, "Vendor doc")
    """
)


def vendor_row(config: Path) -> dict[str, Any]:
    """The vendor plugin's row of ``firebell plugins --json``."""
    [row] = [row for row in fb(config, "plugins", "--json").json() if row["name"] == "vendor"]
    return row


def test_retry_makes_a_retrying_delivery_due_now_and_its_next_attempt_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = install_on_path(tmp_path, monkeypatch, "vendor", DOWN_VENDOR)
    down = site / "down"
    down.touch()
    config = write_config(tmp_path, "\n[plugins.vendor]\n")

    declared = fb(config, "declare", "Checkout failing", "--json")
    at = datetime.now(UTC) + timedelta(seconds=600)
    name = declared.json()["incident"]["id"]

    # The vendor asked for 10 minutes: when, and how not to wait for it.
    [note] = notes(declared)
    assert re.fullmatch(
        r"note: plugin vendor: 1 pending, 0 failed; last error: RetryLater: could not reach the "
        r"vendor\. Next attempt (\d\d:\d\d:\d\d) UTC \(in (9|10)m\) by `firebell run` \(or "
        r"`firebell deliver`\); once the cause is fixed, `firebell retry --plugin vendor` "
        r"tries now\.",
        note,
    ), note
    row = vendor_row(config)
    next_attempt = datetime.fromisoformat(row["next_attempt_at"])
    assert abs(next_attempt - at) < timedelta(seconds=30)
    assert f"next attempt {next_attempt:%H:%M:%S} UTC (in " in fb(config, "plugins").stdout
    shown = fb(config, "show", name).stdout
    assert "  undone:    vendor: 1 pending\n" in shown
    assert f"             next attempt {next_attempt:%H:%M:%S} UTC (in " in shown
    undone = fb(config, "show", name, "--json").json()["deliveries"]["vendor"]
    assert datetime.fromisoformat(undone["next_attempt_at"]) == next_attempt

    down.unlink()  # the vendor is back
    fb(config, "deliver")
    assert vendor_row(config)["pending"] == 1, "not due yet: deliver leaves it"
    retried = fb(config, "retry", "--plugin", "vendor")

    assert retried.stdout == (
        "Queued 1 delivery again: 0 failed, 1 retrying (due now, not at their next attempt).\n"
    )
    assert notes(retried) == []
    row = vendor_row(config)
    assert (row["pending"], row["next_attempt_at"]) == (0, None)
    resources = fb(config, "show", name, "--json").json()["incident"]["resources"]
    assert ("vendor", f"vendor-{name}") in {(r["plugin"], r["external_id"]) for r in resources}
    assert fb(config, "retry").stdout == "Queued 0 deliveries again.\n"
