"""One incident through the whole system with every integration on: declared in Slack, resolved,
closed; each vendor checked in its fake for what people and customers would see."""

from __future__ import annotations

import json
from pathlib import Path

from e2e_support import REPORTER, RESPONDER, RUNBOOK, MakeSystem, System, declare_form
from firebell.core import IncidentState

from firebell.testing.fake_notion import FakeBlock
from firebell.testing.fake_statuspage import STATUSPAGE_COMPONENT_API, STATUSPAGE_COMPONENT_WEB


def section(blocks: list[FakeBlock], title: str) -> list[FakeBlock]:
    """The blocks of a Notion page between the heading ``title`` and the next heading."""
    start = next(i for i, b in enumerate(blocks) if b.type == "heading_2" and b.text == title)
    following = []
    for block in blocks[start + 1 :]:
        if block.type == "heading_2":
            break
        following.append(block)
    return following


def link_of(system: System, incident_id: str, kind: str, plugin: str) -> tuple[str, str]:
    """``(external_id, url)`` of what ``plugin`` linked as ``kind``."""
    resource = system.get(incident_id).resource(kind, plugin=plugin)
    assert resource is not None, f"{plugin} linked no {kind}"
    assert resource.url is not None
    return resource.external_id, resource.url


def test_declare_resolve_close_through_slack_with_every_integration(
    make_system: MakeSystem,
) -> None:
    system = make_system(retry_base=0.0)
    slack, pagerduty = system.fakes.slack, system.fakes.pagerduty
    notion, statuspage = system.fakes.notion, system.fakes.statuspage

    # /incident -> the form -> submitted (customer facing: Statuspage takes part)
    sent = system.command("/incident")
    assert sent.response.content == b""  # acknowledged at once
    view = system.opened_view(sent)
    submitted = system.submit(
        view,
        declare_form(
            "Checkout is down",
            description="Card payments fail with 502 since the 14:00 deploy",
            severity="SEV1",
            customer_facing=True,
        ),
    )
    assert submitted.status_code == 200 and submitted.content == b""  # the modal closes
    [declared] = system.incidents()
    name = declared.id
    assert f"Declared *{name}*" in system.reply(sent)

    system.drain()

    incident = system.get(name)
    assert incident.customer_facing and incident.severity == "SEV1"
    assert system.undelivered() == {}

    # Slack: the channel, its topic, members, bookmarks, summary, the DM and the announcement.
    channel_id, channel_url = link_of(system, name, "channel", "slack")
    channel = slack.channels[channel_id]
    assert channel.name == f"incd-{name}" and not channel.is_archived
    assert channel_url.endswith(f"/archives/{channel_id}")
    assert slack.topic(channel_id) == (
        "SEV1 | Checkout is down | Card payments fail with 502 since the 14:00 deploy"
    )
    assert {REPORTER, RESPONDER} <= set(slack.members(channel_id))
    pager_id, pager_url = link_of(system, name, "pager-incident", "pagerduty")
    page_id, page_url = link_of(system, name, "document", "notion")
    status_id, status_url = link_of(system, name, "status-incident", "statuspage")
    bookmarked = [b["link"] for b in slack.bookmarks(channel_id)]
    assert sorted(bookmarked) == sorted([RUNBOOK, pager_url, page_url, status_url])
    kinds = system.kinds_posted(channel_id)
    assert kinds.count("summary") == 1 and "integration-failed" not in kinds
    [summary_message] = [
        m for m in slack.messages(channel_id) if m["metadata"]["event_payload"]["kind"] == "summary"
    ]
    summary = json.dumps(summary_message)
    assert name in summary and "SEV1" in summary and f"<@{REPORTER}>" in summary
    for url in (pager_url, page_url, status_url):
        assert url in summary, f"the summary does not link {url}"
    dm = slack.dm_channel(REPORTER)
    assert dm is not None
    assert [m["text"] for m in dm.messages if f"<#{channel_id}>" in m["text"]] != []
    [announced] = system.texts_of(system.fakes.announce, "announce")
    assert name in announced and f"<!subteam^{system.fakes.oncall}>" in announced
    assert f"<#{channel_id}>" in announced

    # PagerDuty: one incident keyed by the incident's name, the channel in its details.
    [paged] = pagerduty.incidents
    assert (paged["id"], paged["html_url"]) == (pager_id, pager_url)
    assert paged["incident_key"] == name and paged["status"] == "triggered"
    assert channel_url in paged["body"]["details"]

    # Notion: the post-mortem page, with the channel and PagerDuty URLs in its properties.
    [page] = notion.pages
    assert page["id"] == page_id
    properties = notion.page_properties(page_id)
    assert properties["Name"] == name and properties["Status"] == "Open"
    assert properties["Slack channel"] == channel_url
    assert properties["PagerDuty"] == pager_url

    # Statuspage: the customers' incident, the configured component marked down.
    [status_incident] = statuspage.incidents
    assert status_incident["id"] == status_id
    assert status_incident["status"] == "investigating"
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "major_outage"
    assert statuspage.component_status(STATUSPAGE_COMPONENT_WEB) == "operational"

    # /resolve-incident in the channel -> confirmed by the responder -> everything resolved.
    resolving = system.command("/resolve-incident", channel_id=channel_id, user_id=RESPONDER)
    view = system.opened_view(resolving)
    assert view["callback_id"] == "firebell_resolve"
    confirmed = system.submit(
        view, {"summary": {"value": {"type": "plain_text_input", "value": "Rolled back"}}}
    )
    assert confirmed.status_code == 200 and confirmed.content == b""
    system.drain()

    incident = system.get(name)
    assert incident.state is IncidentState.RESOLVED
    assert system.undelivered() == {}
    assert slack.channels[channel_id].name == f"incd-{name}-resolved"
    assert "resolved" in system.kinds_posted(channel_id)
    [announced_resolved] = system.texts_of(system.fakes.announce, "resolved")
    assert name in announced_resolved
    assert pagerduty.incident(pager_id)["status"] == "resolved"
    assert statuspage.incident(status_id)["status"] == "resolved"
    assert statuspage.component_status(STATUSPAGE_COMPONENT_API) == "operational"
    properties = notion.page_properties(page_id)
    assert properties["Status"] == "Resolved"
    assert properties["Duration (minutes)"] is not None
    timeline = [b.text for b in section(notion.page_blocks(page_id), "2. Timeline")]
    assert any("declared" in line.lower() for line in timeline), timeline
    assert any("resolved" in line.lower() for line in timeline), timeline
    assert "Filled in when the incident is resolved." not in timeline
    refused = system.reply(system.command("/resolve-incident", channel_id=channel_id))
    assert "already resolved" in refused

    # /close-incident -> confirmed -> the channel archived, the post-mortem closed.
    closing = system.command("/close-incident", channel_id=channel_id)
    view = system.opened_view(closing)
    assert view["callback_id"] == "firebell_close"
    closed = system.submit(
        view, {"summary": {"value": {"type": "plain_text_input", "value": "Post-mortem held"}}}
    )
    assert closed.status_code == 200 and closed.content == b""
    system.drain()

    incident = system.get(name)
    assert incident.state is IncidentState.CLOSED
    assert system.undelivered() == {}
    assert slack.channels[channel_id].is_archived
    assert "closed" in system.kinds_posted(channel_id)
    assert notion.page_properties(page_id)["Status"] == "Closed"
    postmortem = Path(system.config_path.parent / "postmortems" / f"{name}.md")
    assert name in postmortem.read_text(encoding="utf-8")

    # Nothing was made twice along the way.
    assert len(pagerduty.incidents) == len(notion.pages) == len(statuspage.incidents) == 1
    assert [c.name for c in slack.channels.values() if c.name.startswith("incd-")] == [
        f"incd-{name}-resolved"
    ]
    assert system.kinds_posted(channel_id).count("summary") == 1
