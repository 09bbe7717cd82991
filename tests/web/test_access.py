"""Who gets in: the "is local" rule, the shared token (header, query once, cookie), settings."""

from __future__ import annotations

import pytest
from firebell.adapters.web.access import (
    ACCESS_COOKIE,
    is_local_address,
    is_local_request,
    is_loopback_host_name,
)
from firebell.adapters.web.settings import web_settings
from firebell.core import ConfigError, Firebell
from firebell.core.config import parse_config
from starlette.applications import Starlette
from starlette.datastructures import Headers
from web_support import TOKEN, MakeConsole, local_client, remote_client, seed

# -- the rule, piece by piece ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("127.0.0.2", False),  # loopback, but not ours: forwarders and namespaces use these
        ("127.1.2.3", False),
        ("0.0.0.0", False),
        ("192.0.2.2", False),
        ("10.0.0.1", False),
        ("fe80::1", False),
        ("::ffff:10.0.0.1", False),
        ("localhost", False),  # a peer is an address, never a name
        ("testclient", False),
        ("", False),
        (None, False),
    ],
)
def test_only_127_0_0_1_and_colon_colon_1_are_local_peers(address: str | None, local: bool) -> None:
    assert is_local_address(address) is local


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("localhost:8080", True),
        ("LOCALHOST:8080", True),
        ("127.0.0.1:8080", True),
        ("[::1]:8080", True),
        ("[::1]", True),
        ("localhost.:8080", True),
        ("evil.example:8080", False),  # a rebinding attacker's name
        ("127.0.0.1.evil.example", False),
        ("localhost.evil.example", False),
        ("192.0.2.2:8080", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_host_names(host: str | None, loopback: bool) -> None:
    assert is_loopback_host_name(host) is loopback


def test_a_forwarded_request_is_not_local_even_from_127_0_0_1() -> None:
    plain = Headers({"host": "127.0.0.1:8080"})
    assert is_local_request("127.0.0.1", plain)
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host"):
        forwarded = Headers({"host": "127.0.0.1:8080", header: "203.0.113.9"})
        assert not is_local_request("127.0.0.1", forwarded), header


# -- through the app ---------------------------------------------------------------------------


def test_a_local_client_gets_in_without_a_token(console: tuple[Firebell, Starlette]) -> None:
    made = seed(console[0])
    for host in ("127.0.0.1", "::1"):
        with local_client(console[1], host) as client:
            page = client.get(f"/incidents/{made['checkout'].id}")
            assert page.status_code == 200, host
            assert "web:local" in page.text


def test_without_a_configured_token_other_clients_are_refused(
    make_console: MakeConsole,
) -> None:
    firebell, app = make_console()  # no token
    made = seed(firebell)
    with remote_client(app) as client:
        for path in ("/incidents", f"/incidents/{made['checkout'].id}", "/metrics", "/nope"):
            page = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert page.status_code == 403, path
            assert "Local access only" in page.text
            assert made["checkout"].id not in page.text and "Checkout" not in page.text


def test_a_remote_client_without_the_token_gets_401_and_no_data(
    console: tuple[Firebell, Starlette],
) -> None:
    made = seed(console[0])
    with remote_client(console[1]) as client:
        for path in ("/incidents", f"/incidents/{made['checkout'].id}", "/metrics"):
            page = client.get(path)
            assert page.status_code == 401, path
            assert page.headers["www-authenticate"].startswith("Bearer")
            assert "Token needed" in page.text
            assert made["checkout"].id not in page.text and "Checkout" not in page.text


def test_other_loopback_addresses_and_tricks_count_as_remote(
    console: tuple[Firebell, Starlette],
) -> None:
    app = console[1]
    with remote_client(app, "127.0.0.2") as client:
        assert client.get("/incidents").status_code == 401
    with local_client(app) as client:
        # A proxy on this machine relaying someone else's request.
        relayed = client.get("/incidents", headers={"X-Forwarded-For": "203.0.113.9"})
        # A page elsewhere whose DNS name now points at 127.0.0.1.
        rebound = client.get("/incidents", headers={"Host": "evil.example:8080"})
    assert relayed.status_code == 401
    assert rebound.status_code == 401


def test_the_bearer_token_lets_a_remote_client_in(console: tuple[Firebell, Starlette]) -> None:
    made = seed(console[0])
    with remote_client(console[1]) as client:
        good = client.get("/incidents", headers={"Authorization": f"Bearer {TOKEN}"})
        wrong = client.get("/incidents", headers={"Authorization": f"Bearer {TOKEN}x"})
        basic = client.get("/incidents", headers={"Authorization": f"Basic {TOKEN}"})

    assert good.status_code == 200 and made["checkout"].id in good.text
    assert "web:token" in good.text
    assert wrong.status_code == 401 and basic.status_code == 401


def test_the_token_in_the_address_becomes_a_cookie_and_leaves_the_address(
    console: tuple[Firebell, Starlette],
) -> None:
    made = seed(console[0])
    with remote_client(console[1]) as client:
        arrival = client.get("/incidents", params={"token": TOKEN, "state": "open"})
        assert arrival.status_code == 303
        assert arrival.headers["location"] == "/incidents?state=open"
        cookie = arrival.headers["set-cookie"]
        assert cookie.startswith(f"{ACCESS_COOKIE}=") and "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        assert TOKEN not in cookie  # a value derived from the token, not the token
        assert arrival.headers["referrer-policy"] == "no-referrer"

        after = client.get("/incidents?state=open")
        assert after.status_code == 200 and made["search"].id in after.text

    with remote_client(console[1], cookies={ACCESS_COOKIE: "0" * 64}) as forged:
        assert forged.get("/incidents").status_code == 401


def test_a_wrong_token_in_the_address_sets_nothing(console: tuple[Firebell, Starlette]) -> None:
    with remote_client(console[1]) as client:
        answer = client.get("/incidents", params={"token": "guess"})

    assert answer.status_code == 401
    assert ACCESS_COOKIE not in answer.headers.get("set-cookie", "")


def test_the_style_sheet_is_open_to_everyone(console: tuple[Firebell, Starlette]) -> None:
    with remote_client(console[1]) as client:
        assert client.get("/static/style.css").status_code == 200


def test_the_user_header_names_the_visitor_only_with_the_token(
    make_console: MakeConsole,
) -> None:
    _, app = make_console(
        {"token": {"env": "FIREBELL_WEB_TOKEN"}, "user_header": "X-Forwarded-Email"}
    )
    with remote_client(app) as client:
        named = client.get(
            "/incidents",
            headers={"Authorization": f"Bearer {TOKEN}", "X-Forwarded-Email": "ana@example.com"},
        )
        unnamed = client.get("/incidents", headers={"X-Forwarded-Email": "ana@example.com"})

    assert named.status_code == 200 and "web:ana@example.com" in named.text
    assert unnamed.status_code == 401


# -- settings ----------------------------------------------------------------------------------


def _settings(web: dict[str, object], environ: dict[str, str] | None = None) -> None:
    config = parse_config({"firebell": {"web": web}}, path=None, environ=environ or {})
    web_settings(config)


def test_settings_default_to_local_read_only_on_8080() -> None:
    settings = web_settings(parse_config({}, path=None, environ={}))

    assert (settings.host, settings.port, settings.enabled) == ("127.0.0.1", 8080, False)
    assert settings.token is None and settings.allow_actions is False
    assert settings.search_count_limit == 10_000


@pytest.mark.parametrize(
    ("web", "message"),
    [
        ({"tokn": "x"}, "unknown key 'tokn'. Valid keys: enabled, host, port, token"),
        ({"port": "8080"}, "port must be a whole number from 0 to 65535, got '8080'"),
        ({"port": 70000}, "port must be a whole number"),
        ({"enabled": "yes"}, "enabled must be true or false"),
        ({"allow_actions": 1}, "allow_actions must be true or false"),
        ({"token": "written-in-the-file-123"}, 'token = { env = "FIREBELL_WEB_TOKEN" }'),
        ({"user_header": "X Forwarded"}, "user_header must be a header name"),
        ({"host": ""}, "host must be an address"),
        ({"search_count_limit": 0}, "search_count_limit must be a whole number of at least 1"),
        ({"search_count_limit": "10000"}, "search_count_limit must be a whole number"),
    ],
)
def test_wrong_settings_name_the_table_and_key(web: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(web)

    assert "[firebell.web]" in str(caught.value) and message in str(caught.value)


def test_a_short_token_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        _settings({"token": {"env": "SHORT"}}, {"SHORT": "hunter2"})

    assert "too short" in str(caught.value) and "SHORT" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_token_variable_that_is_not_set_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        _settings({"token": {"env": "FIREBELL_WEB_TOKEN"}})

    assert "FIREBELL_WEB_TOKEN, which is not set" in str(caught.value)
