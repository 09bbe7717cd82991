"""A closed incident's follow-ups, with every integration on: the tasks agreed at the post-mortem
meeting (which the close follows) are ticked off at the command line weeks later; the post-mortems
follow, and nothing is asked of Slack (the channel is archived), PagerDuty or Statuspage."""

from __future__ import annotations

from e2e_support import RESPONDER, MakeSystem
from firebell.core import IncidentState

from firebell.testing.fake_notion import FakeNotion


def to_dos(notion: FakeNotion, page_id: str) -> list[tuple[str, bool | None]]:
    """The to-dos of a Notion page: its section 4's (the only section that has them)."""
    return [(b.text, b.checked) for b in notion.page_blocks(page_id) if b.type == "to_do"]


def test_a_follow_up_of_a_closed_incident_is_done_from_the_command_line(
    make_system: MakeSystem,
) -> None:
    system = make_system(retry_base=0.0)
    fakes = system.fakes
    incident = system.declare("Checkout is down", severity="SEV1", customer_facing=True)
    name = incident.id
    added = system.cli("followup", name, "Add an alert on 5xx", "--owner", RESPONDER)
    assert added.code == 0, added
    assert system.confirm("resolve", incident, "Rolled back").status_code == 200
    system.drain()
    assert system.confirm("close", incident, "Post-mortem held").status_code == 200
    system.drain()
    assert system.get(name).state is IncidentState.CLOSED
    assert fakes.slack.channels[system.channel_of(incident)].is_archived
    assert name in system.cli("followups").stdout
    calls = {fake: len(fake.calls) for fake in (fakes.slack, fakes.pagerduty, fakes.statuspage)}

    done = system.cli("followup-done", name, "1")
    system.drain()

    assert done.code == 0, done
    assert system.get(name).follow_ups[0].done
    assert system.undelivered() == {}
    assert name not in system.cli("followups").stdout
    postmortem = (system.config_path.parent / "postmortems" / f"{name}.md").read_text()
    assert "- [x] Add an alert on 5xx" in postmortem
    page_id = system.get(name).resource("document", plugin="notion").external_id  # type: ignore[union-attr]
    [(text, checked)] = to_dos(fakes.notion, page_id)
    assert text.startswith("Add an alert on 5xx — ") and checked
    for fake, before in calls.items():
        # Looking people up (the command line names Slack users) posts nothing anywhere.
        made = [c.request.path for c in fake.calls[before:] if c.request.path != "/api/users.info"]
        assert made == [], type(fake).__name__
