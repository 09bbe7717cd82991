"""Acting from the web: off by default; when on, POST only, CSRF-checked, same engine commands."""

from __future__ import annotations

import html

from firebell.adapters.web import create_app
from firebell.adapters.web.csrf import CSRF_COOKIE
from firebell.core import Firebell, IncidentState
from starlette.applications import Starlette
from starlette.testclient import TestClient
from web_support import (
    TOKEN,
    Linker,
    MakeConsole,
    csrf_fields,
    local_client,
    remote_client,
    seed,
)

from firebell.testing.pytest_plugin import MakeFirebell

ACTIONS = {"allow_actions": True, "token": {"env": "FIREBELL_WEB_TOKEN"}}


def _declare_form(client: TestClient, **fields: str) -> dict[str, str]:
    form = csrf_fields(client.get("/incidents").text)
    return {**form, "title": "Payments down", "severity": "SEV1", **fields}


def test_actions_are_off_by_default(console: tuple[Firebell, Starlette], local: TestClient) -> None:
    firebell = console[0]
    made = seed(firebell)
    page = local.get("/incidents").text
    assert "Declare an incident" not in page
    assert "Mark resolved" not in local.get(f"/incidents/{made['search'].id}").text

    declared = local.post("/incidents", data={"title": "Sneaky"})
    resolved = local.post(f"/incidents/{made['search'].id}/resolve", data={})

    assert declared.status_code == 403 and "allow_actions = true" in declared.text
    assert resolved.status_code == 403
    assert firebell.store.count_incidents() == 4
    assert firebell.engine.get(made["search"].id).state is IncidentState.OPEN


def test_declare_from_the_browser_goes_through_the_engine(make_console: MakeConsole) -> None:
    firebell, app = make_console(ACTIONS)
    with local_client(app) as client:
        form = _declare_form(client, description="Card payments fail", customer_facing="on")
        answer = client.post("/incidents", data=form, follow_redirects=False)

    assert answer.status_code == 303
    name = answer.headers["location"].removeprefix("/incidents/")
    incident = firebell.engine.get(name)
    assert (incident.title, incident.severity, incident.reporter) == (
        "Payments down",
        "SEV1",
        "web:local",
    )
    assert incident.customer_facing and incident.source == "web"
    # The plugins hear of it like any other declaration.
    firebell.deliverer.drain()
    assert firebell.engine.get(name).resource("channel") is not None


def test_the_same_form_sent_twice_declares_once(make_console: MakeConsole) -> None:
    firebell, app = make_console(ACTIONS)
    with local_client(app) as client:
        form = _declare_form(client)
        first = client.post("/incidents", data=form, follow_redirects=False)
        again = client.post("/incidents", data=form, follow_redirects=False)

    assert first.headers["location"] == again.headers["location"]
    assert firebell.store.count_incidents() == 1


def test_a_post_without_the_csrf_token_is_refused(make_console: MakeConsole) -> None:
    firebell, app = make_console(ACTIONS)
    with local_client(app) as client:
        form = _declare_form(client)
        missing = client.post("/incidents", data={"title": "No token"})
        wrong = client.post("/incidents", data={**form, "csrf": "0" * 64})
    with local_client(app) as stranger:  # another browser: no cookie, someone else's field
        foreign = stranger.post("/incidents", data=form)

    for answer in (missing, wrong, foreign):
        assert answer.status_code == 403 and "Form refused" in answer.text
    assert firebell.store.count_incidents() == 0


def test_a_post_from_another_site_is_refused_even_with_the_token(
    make_console: MakeConsole,
) -> None:
    firebell, app = make_console(ACTIONS)
    with local_client(app) as client:
        form = _declare_form(client)
        cross_origin = client.post(
            "/incidents", data=form, headers={"Origin": "https://evil.example"}
        )
        cross_site = client.post("/incidents", data=form, headers={"Sec-Fetch-Site": "cross-site"})
        same_origin = client.post(
            "/incidents",
            data=form,
            headers={"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"},
            follow_redirects=False,
        )

    assert cross_origin.status_code == 403 and "evil.example" in cross_origin.text
    assert cross_site.status_code == 403
    assert same_origin.status_code == 303
    assert firebell.store.count_incidents() == 1


def test_the_csrf_cookie_is_same_site_and_http_only(make_console: MakeConsole) -> None:
    _, app = make_console(ACTIONS)
    with local_client(app) as client:
        cookie = client.get("/incidents").headers["set-cookie"]

    assert cookie.startswith(f"{CSRF_COOKIE}=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()


def test_actions_are_post_only(make_console: MakeConsole) -> None:
    firebell, app = make_console(ACTIONS)
    made = seed(firebell)
    with local_client(app) as client:
        answer = client.get(f"/incidents/{made['search'].id}/resolve")

    assert answer.status_code == 405
    assert firebell.engine.get(made["search"].id).state is IncidentState.OPEN


def test_resolve_from_the_browser_records_the_web_user(make_console: MakeConsole) -> None:
    firebell, app = make_console(ACTIONS)
    made = seed(firebell)
    name = made["search"].id
    with local_client(app) as client:
        page = client.get(f"/incidents/{name}").text
        assert "Mark resolved" in page
        form = {**csrf_fields(page), "summary": "Cache warmed"}
        answer = client.post(f"/incidents/{name}/resolve", data=form)
        again = client.post(f"/incidents/{name}/resolve", data={**form, "nonce": "another"})

    assert answer.status_code == 200 and 'id="state">resolved<' in answer.text
    incident = firebell.engine.get(name)
    assert incident.state is IncidentState.RESOLVED and incident.resolved_by == "web:local"
    assert "Resolved: Cache warmed" in answer.text
    # The engine's refusal, shown on the page, with advice the console can follow: it has no
    # reopen, so it says where to reopen.
    assert again.status_code == 409 and "is already resolved, by web:local" in again.text
    assert (
        f"If it is not over, reopen it with `firebell reopen {name}`: the console cannot "
        "reopen incidents."
    ) in html.unescape(again.text)
    assert "Reopen it first" not in again.text


def test_resolving_a_resolved_incident_with_a_slack_channel_says_to_reopen_it_there(
    make_firebell: MakeFirebell,
) -> None:
    firebell = make_firebell(
        {"firebell": {"web": ACTIONS}, "plugins": {"slack": {}}},
        extra_plugins={"slack": Linker()},
        environ={"FIREBELL_WEB_TOKEN": TOKEN},
        entry_points=False,
    )
    name = firebell.engine.declare(title="Checkout is down", reporter="U0REPORTER").incident.id
    firebell.deliverer.drain()
    firebell.engine.resolve(name, actor="U0REPORTER")
    with local_client(create_app(firebell)) as client:
        form = csrf_fields(client.get("/incidents").text)
        answer = client.post(f"/incidents/{name}/resolve", data=form)

    assert answer.status_code == 409
    assert (
        f"If it is not over, reopen it with `/incident reopen` in its Slack channel or with "
        f"`firebell reopen {name}`: the console cannot reopen incidents."
    ) in html.unescape(answer.text)


def test_resolving_an_unknown_incident_is_a_404(make_console: MakeConsole) -> None:
    _, app = make_console(ACTIONS)
    with local_client(app) as client:
        form = csrf_fields(client.get("/incidents").text)
        answer = client.post("/incidents/20990101-no-such/resolve", data=form)

    assert answer.status_code == 404


def test_an_invalid_declaration_names_the_problem(make_console: MakeConsole) -> None:
    firebell, app = make_console(ACTIONS)
    with local_client(app) as client:
        answer = client.post("/incidents", data=_declare_form(client, title="   "))

    assert answer.status_code == 400 and "title" in answer.text.lower()
    assert firebell.store.count_incidents() == 0


def test_the_same_permissions_as_slack_apply(make_console: MakeConsole) -> None:
    firebell, app = make_console(
        {**ACTIONS, "user_header": "X-Forwarded-Email"},
        permissions={"resolve": ["user:web:ana@example.com"]},
    )
    name = firebell.engine.declare(title="Search slow", reporter="U0REPORTER").incident.id
    with local_client(app) as local:
        assert "Declare an incident" in local.get("/incidents").text  # declare is open
        page = local.get(f"/incidents/{name}").text
        assert "Mark resolved" not in page  # web:local may not resolve here
        # The button is hidden; a hand-made form with a valid CSRF token is refused by the engine.
        form = csrf_fields(local.get("/incidents").text)
        refused = local.post(f"/incidents/{name}/resolve", data=form)
    assert refused.status_code == 403 and "You may not resolve" in refused.text
    assert firebell.engine.get(name).state is IncidentState.OPEN

    ana = {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-Email": "ana@example.com"}
    with remote_client(app, headers=ana) as proxied:
        page = proxied.get(f"/incidents/{name}").text
        assert "Mark resolved" in page
        proxied.post(f"/incidents/{name}/resolve", data=csrf_fields(page))

    incident = firebell.engine.get(name)
    assert incident.state is IncidentState.RESOLVED
    assert incident.resolved_by == "web:ana@example.com"


def test_the_declare_form_is_hidden_from_who_may_not_declare(make_console: MakeConsole) -> None:
    firebell, app = make_console(ACTIONS, permissions={"declare": ["user:U0ONCALL"]})
    existing = firebell.engine.declare(title="Earlier", reporter="cli:ops").incident.id
    with local_client(app) as client:
        page = client.get("/incidents").text
        # A valid CSRF field, from the resolve form that this visitor may use.
        form = csrf_fields(client.get(f"/incidents/{existing}").text)
        refused = client.post("/incidents", data={**form, "title": "Not allowed"})

    assert "Declare an incident" not in page
    assert refused.status_code == 403 and "You may not declare" in refused.text
    assert firebell.store.count_incidents() == 1
