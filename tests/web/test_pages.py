"""The console's pages through Starlette's TestClient: list, filters, search, paging, incident, 404s."""

from __future__ import annotations

import re

from firebell.adapters.web import PAGE_SIZE, create_app
from firebell.core import Firebell, Incident, PermanentPluginError, RetryLater, hookimpl
from firebell.core.timeline_commands import add_follow_up
from starlette.applications import Starlette
from starlette.testclient import TestClient
from web_support import MakeConsole, local_client, seed

from firebell.testing.pytest_plugin import MakeFirebell


def names_on(html: str) -> list[str]:
    """The incident names listed on a list page, in order."""
    return re.findall(r'<a class="name" href="/incidents/([^"]+)">', html)


def count_line(html: str) -> str:
    """The '1-4 of 4 incidents' line (the page has an en dash), with whitespace squeezed."""
    match = re.search(r'<p class="count" id="count">(.*?)</p>', html, re.S)
    assert match, "no count line"
    return " ".join(match.group(1).split()).replace("\N{EN DASH}", "-")


def test_the_list_shows_every_incident_newest_first(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    made = seed(console[0])

    page = local.get("/incidents")

    assert page.status_code == 200
    assert names_on(page.text) == [
        made[key].id for key in ("billing", "login", "search", "checkout")
    ]
    assert count_line(page.text) == "1-4 of 4 incidents"
    assert "Checkout returns 502" in page.text and "U0COMMANDER" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"


class PagerDownForCheckout:
    """A pager plugin whose vendor fails for the checkout incident (and works for others)."""

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> None:
        if "Checkout" in incident.title:
            raise RetryLater("PagerDuty answered HTTP 503")


def test_the_list_marks_an_incident_with_a_failing_integration(
    make_firebell: MakeFirebell,
) -> None:
    firebell = make_firebell(
        {"plugins": {"pagerduty": {}}},
        extra_plugins={"pagerduty": PagerDownForCheckout()},
        entry_points=False,
    )
    failing = firebell.engine.declare(title="Checkout is down", reporter="U0A").incident.id
    fine = firebell.engine.declare(title="Search is slow", reporter="U0A").incident.id
    firebell.deliverer.drain()

    with local_client(create_app(firebell)) as client:
        page = client.get("/incidents").text

    rows = {name: row for row in page.split("<tr>") for name in names_on(row)}
    assert (
        '<div class="failing"><span aria-hidden="true">⚠</span> Failing: pagerduty</div>'
        in rows[failing]
    )
    assert "failing" not in rows[fine]


def test_the_root_leads_to_the_list(local: TestClient) -> None:
    answer = local.get("/", follow_redirects=False)

    assert answer.status_code == 303 and answer.headers["location"] == "/incidents"


def test_filters_by_state_and_severity_and_both(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    made = seed(console[0])

    open_ones = local.get("/incidents", params={"state": "open"}).text
    sev2 = local.get("/incidents", params={"severity": "SEV2"}).text
    both = local.get("/incidents", params={"severity": "SEV2", "state": "resolved"}).text
    closed = local.get("/incidents", params={"state": "closed", "severity": "SEV0"}).text

    assert names_on(open_ones) == [made["billing"].id, made["search"].id]
    assert count_line(open_ones) == "1-2 of 2 incidents matching"
    assert names_on(sev2) == [made["billing"].id, made["search"].id]
    assert names_on(both) == []
    assert "No incident matches these filters." in both
    assert names_on(closed) == [made["login"].id]
    # The chosen filters stay selected in the form.
    assert '<option value="closed" selected>' in closed
    assert '<option value="SEV0" selected>' in closed


def filter_problem(html: str) -> str | None:
    """The notice about filter values the console does not know, or None."""
    match = re.search(
        r'<div class="notice problem" role="alert" id="filter-problem">(.*?)</div>', html
    )
    return match.group(1) if match else None


def test_filter_values_match_ignoring_case(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    made = seed(console[0])

    page = local.get("/incidents", params={"severity": "sev2", "state": "OPEN"}).text

    assert names_on(page) == [made["billing"].id, made["search"].id]
    assert count_line(page) == "1-2 of 2 incidents matching"
    assert '<option value="SEV2" selected>' in page and '<option value="open" selected>' in page
    assert filter_problem(page) is None


def test_unknown_filter_values_show_every_incident_and_say_so(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    seed(console[0])

    page = local.get("/incidents", params={"state": "exploded", "severity": "SEV9", "page": "x"})
    severity_only = local.get("/incidents", params={"severity": "<b>BOGUS</b>"}).text

    assert page.status_code == 200
    assert len(names_on(page.text)) == 4
    assert filter_problem(page.text) == (
        "No state &#39;exploded&#39;: open, resolved, closed. Showing every state. "
        "No severity &#39;SEV9&#39;: SEV0, SEV1, SEV2. Showing every severity."
    )
    assert "matching" not in count_line(page.text)
    assert filter_problem(severity_only) == (
        "No severity &#39;&lt;b&gt;BOGUS&lt;/b&gt;&#39;: SEV0, SEV1, SEV2. Showing every severity."
    )
    assert filter_problem(local.get("/incidents").text) is None


def test_search_finds_by_title_and_by_name_case_insensitively(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    made = seed(console[0])
    animal = made["login"].id.rsplit("-", 1)[1]

    by_title = local.get("/incidents", params={"q": "LATENCY"}).text
    by_name = local.get("/incidents", params={"q": animal}).text
    wildcard = local.get("/incidents", params={"q": "%"}).text

    assert names_on(by_title) == [made["search"].id]
    assert made["login"].id in names_on(by_name)
    assert names_on(wildcard) == []  # % is a character, not a wildcard
    assert 'value="LATENCY"' in by_title


def test_search_text_is_escaped_in_the_page(local: TestClient) -> None:
    page = local.get("/incidents", params={"q": '"><script>alert(1)</script>'})

    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;" in page.text


def test_paging_keeps_the_filters_and_counts_right(make_console: MakeConsole) -> None:
    firebell, app = make_console()
    for number in range(PAGE_SIZE + 7):
        firebell.engine.declare(title=f"Disk full {number}", reporter="U1", severity="SEV1")
    firebell.engine.declare(title="Other", reporter="U1", severity="SEV0")
    with local_client(app) as client:
        first = client.get("/incidents", params={"severity": "SEV1"}).text
        second = client.get("/incidents", params={"severity": "SEV1", "page": "2"}).text
        beyond = client.get("/incidents", params={"severity": "SEV1", "page": "99"}).text

    assert len(names_on(first)) == PAGE_SIZE
    assert count_line(first) == f"1-{PAGE_SIZE} of {PAGE_SIZE + 7} incidents matching"
    assert 'href="/incidents?severity=SEV1&amp;page=2">Next →</a>' in first
    assert 'href="/incidents?severity=SEV1&amp;page=2">Last »</a>' in first
    assert len(names_on(second)) == 7
    assert (
        count_line(second)
        == f"{PAGE_SIZE + 1}-{PAGE_SIZE + 7} of {PAGE_SIZE + 7} incidents matching"
    )
    assert "Page 2 of 2" in second
    assert not set(names_on(first)) & set(names_on(second))
    assert names_on(beyond) == names_on(second)  # past the end: the last page


def test_a_search_past_the_count_limit_says_more_and_has_no_last_link(
    make_console: MakeConsole,
) -> None:
    firebell, app = make_console({"search_count_limit": 60})
    for number in range(2 * PAGE_SIZE + 7):
        severity = "SEV1" if number < 60 else "SEV2"
        firebell.engine.declare(title=f"Disk full {number}", reporter="U1", severity=severity)
    firebell.engine.declare(title="Other", reporter="U1", severity="SEV0")
    with local_client(app) as client:
        first, second, third, beyond = (
            client.get("/incidents", params={"q": "disk", "page": str(number)}).text
            for number in (1, 2, 3, 99)
        )
        at_the_limit = client.get("/incidents", params={"q": "disk", "severity": "SEV1"}).text
        no_search = client.get("/incidents").text

    # 107 match: the count stops past 60, and the page says "60+" with no way to the last page.
    assert count_line(first) == f"1-{PAGE_SIZE} of 60+ incidents matching"
    assert "Page 1 of 2+" in first
    assert 'href="/incidents?q=disk&amp;page=2">Next →</a>' in first
    assert "Last »" not in first
    # A page past the limit counts past itself: there is a next page, where the last is unknown.
    assert count_line(second) == f"{PAGE_SIZE + 1}-{2 * PAGE_SIZE} of 100+ incidents matching"
    assert 'href="/incidents?q=disk&amp;page=3">Next →</a>' in second
    assert 'href="/incidents?q=disk">« First</a>' in second and "Last »" not in second
    # The third page's count reaches the end: exact again, the last page, no next one.
    assert count_line(third) == "101-107 of 107 incidents matching"
    assert "Page 3 of 3" in third and '<span class="off">Next →</span>' in third
    assert names_on(beyond) == names_on(third)  # past the end: the last page, as without a limit
    assert len(set(names_on(first) + names_on(second) + names_on(third))) == 107
    # Exactly as many matches as the limit: an exact count and a link to the last page.
    assert count_line(at_the_limit) == f"1-{PAGE_SIZE} of 60 incidents matching"
    assert 'href="/incidents?q=disk&amp;severity=SEV1&amp;page=2">Last »</a>' in at_the_limit
    # Without a search the count reads an index alone: not limited.
    assert count_line(no_search) == f"1-{PAGE_SIZE} of 108 incidents"
    assert 'href="/incidents?page=3">Last »</a>' in no_search


def test_an_empty_log_says_how_to_declare(local: TestClient) -> None:
    page = local.get("/incidents")

    assert page.status_code == 200
    assert "No incidents yet" in page.text and "firebell declare" in page.text
    assert count_line(page.text) == "No incidents"


def test_the_incident_page_shows_state_people_links_and_timeline(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    made = seed(console[0])
    checkout = made["checkout"]

    page = local.get(f"/incidents/{checkout.id}")

    assert page.status_code == 200
    html = page.text
    assert f'<h1 id="incident-name">{checkout.id}</h1>' in html
    assert 'id="severity">SEV1<' in html and 'id="state">resolved<' in html
    assert "Checkout returns 502" in html
    assert "Resolved</dt><dd>" in html and "by U0COMMANDER" in html
    # Every linked resource, with its label, and a link where the URL is http(s).
    key = checkout.id
    for label, url in [
        ("Slack channel", f"https://acme.slack.com/archives/C{key}"),
        ("PagerDuty incident", f"https://acme.pagerduty.com/incidents/Q{key}"),
        ("Post-mortem (linker)", f"https://www.notion.so/doc-{key}"),
        ("Statuspage incident", f"https://status.acme.test/incidents/sp-{key}"),
    ]:
        assert f'<span class="label">{label}</span>' in html
        assert f'<a href="{url}" rel="noopener noreferrer"' in html
    assert "Hostile runbook" in html and "javascript:" not in html.split("<table")[0]
    # The full timeline, through core/timeline.py, oldest first.
    timeline = html.split('id="timeline"')[1]
    assert timeline.index("Declared as SEV1: Checkout returns 502") < timeline.index(
        "Resolved: Rolled back"
    )
    assert "linker linked #incd-" in timeline
    assert "U0COMMANDER" in timeline and "U0REPORTER" in timeline


def test_the_incident_page_accepts_the_channel_style_name(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    made = seed(console[0])

    page = local.get(f"/incidents/incd-{made['search'].id.upper()}")

    assert page.status_code == 200 and made["search"].id in page.text


def test_an_unknown_incident_is_a_404_page(local: TestClient) -> None:
    page = local.get("/incidents/20990101-no-such-thing")

    assert page.status_code == 404
    assert "There is no incident called &#39;20990101-no-such-thing&#39;" in page.text
    assert "Back to the incidents" in page.text


def test_an_unknown_path_is_a_404_page(local: TestClient) -> None:
    page = local.get("/admin")

    assert page.status_code == 404 and "There is no page here" in page.text


def test_the_incident_page_shows_notes_and_follow_ups(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    made = seed(console[0])

    html = local.get(f"/incidents/{made['checkout'].id}").text

    followups = html.split('id="followups"')[1].split("</ul>")[0]
    assert "(1 open)" in html
    assert followups.index("Alert on 5xx above 2%") < followups.index("Canary the payments deploy")
    assert '<span class="owner">U0SRE</span>' in followups
    assert '<li class="done">' in followups and "by U0SRE" in followups
    timeline = html.split('id="timeline"')[1]
    assert "Note: Payments queue drained" in timeline


def test_the_metrics_page_shows_firebell_stats(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    firebell = console[0]
    seed(firebell)
    month = firebell.engine.clock().strftime("%Y-%m")

    page = local.get("/metrics")

    assert page.status_code == 200
    html = page.text
    assert '<span class="figure" id="total">4</span>' in html
    severities = html.split('id="by-severity"')[1].split("</table>")[0]
    counts = re.findall(r'"badge sev-rank-\d">(SEV\d)</span></td>\s*<td>(\d+)</td>', severities)
    assert counts == [("SEV0", "1"), ("SEV1", "1"), ("SEV2", "2")]
    months = html.split('id="by-month"')[1].split("</table>")[0]
    assert re.search(rf'<td class="mono">{month}</td><td><strong>4</strong>', months)
    # The chart of `firebell stats`, inline.
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and "<rect" in html


def test_the_metrics_follow_new_incidents(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    assert '<span class="figure" id="total">0</span>' in local.get("/metrics").text
    console[0].engine.declare(title="New", reporter="U1")

    assert '<span class="figure" id="total">1</span>' in local.get("/metrics").text


def test_the_style_sheet_is_served(local: TestClient) -> None:
    sheet = local.get("/static/style.css")

    assert sheet.status_code == 200 and "text/css" in sheet.headers["content-type"]


class PagerRefusedForCheckout:
    """A pager plugin whose key the vendor refuses for the checkout incident: it gives up."""

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> None:
        if "Checkout" in incident.title:
            raise PermanentPluginError("PagerDuty refuses the API key (401)")


def test_the_incident_page_says_whether_a_failing_integration_retries_or_gave_up(
    make_firebell: MakeFirebell,
) -> None:
    firebell = make_firebell(
        {"plugins": {"pagerduty": {}, "statuspage": {}}},
        extra_plugins={
            "pagerduty": PagerRefusedForCheckout(),
            "statuspage": PagerDownForCheckout(),
        },
        entry_points=False,
    )
    name = firebell.engine.declare(title="Checkout is down", reporter="U0A").incident.id
    firebell.deliverer.drain()

    with local_client(create_app(firebell)) as client:
        page = client.get(f"/incidents/{name}").text

    banner = " ".join(
        page.split('<div class="notice warning" role="status">')[1].split("</div>")[0].split()
    )
    assert banner == (
        "Failing integrations: pagerduty (gave up: fix the cause, then run "
        "<code>firebell retry --plugin pagerduty</code>), statuspage (retrying); "
        "<code>firebell plugins</code> shows the last error."
    )


def test_people_are_shown_by_the_names_the_incident_recorded(
    console: tuple[Firebell, Starlette], local: TestClient
) -> None:
    firebell = console[0]
    names = {"U0RITA": "Rita Reporter", "U0ANA": "Ana Lyst", "U0BEN": "Ben Okafor"}
    name = firebell.engine.declare(
        title="Checkout is down", reporter="U0RITA", names=names
    ).incident.id
    firebell.engine.assign_commander(name, "U0BEN", actor="U0RITA", names=names)
    add_follow_up(firebell.engine, name, "Alert on 5xx", actor="U0BEN", owner="U0ANA", names=names)

    page = local.get(f"/incidents/{name}").text
    listed = local.get("/incidents").text

    assert '<dd id="commander">Ben Okafor</dd>' in page
    assert "<dd>Rita Reporter</dd>" in page
    assert '<span class="owner">Ana Lyst</span>' in page and "by Ben Okafor" in page
    assert "U0RITA" not in page and "U0ANA" not in page
    assert "<td>Ben Okafor</td>" in listed
