"""The Slack plugin's pure parts: escaping, cutting, channel names, the client factory."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from firebell.plugins.slack.channels import (
    MAX_CHANNEL_NAME,
    channel_name_candidates,
    resolved_name,
    unresolved_name,
)
from firebell.plugins.slack.client import (
    DEFAULT_API_URL,
    REQUEST_TIMEOUT,
    CappedRateLimitRetryHandler,
    GatewayErrorRetryHandler,
    make_web_client,
)
from firebell.plugins.slack.messages import format_duration, link, who
from firebell.plugins.slack.text import ELLIPSIS, escape_mrkdwn, safe, truncate
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

_CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*[a-z0-9]$")


def test_escaping_disarms_every_control_sequence() -> None:
    assert escape_mrkdwn("<!channel> & <@U1|x>") == "&lt;!channel&gt; &amp; &lt;@U1|x&gt;"


@given(st.text(alphabet="ab<>&; ", max_size=60), st.integers(min_value=0, max_value=70))
def test_safe_text_fits_and_never_ends_in_half_an_escape(text: str, limit: int) -> None:
    cut = safe(text, limit)
    assert len(cut) <= limit
    assert "<" not in cut and ">" not in cut
    body = cut.removesuffix(ELLIPSIS)
    assert re.search(r"&(a|am|amp|l|lt|g|gt)?$", body) is None
    if len(escape_mrkdwn(text)) <= limit:
        assert cut == escape_mrkdwn(text)
    elif limit > 0:
        assert cut.endswith(ELLIPSIS)


def test_truncate_keeps_short_text_and_marks_a_cut() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("abcdefghij", 5) == "abcd…"
    assert truncate("ab&amp;cd", 6) == "ab…"


@pytest.mark.parametrize(
    "incident_id",
    ["20260601-honest-rhino", "20260601-" + "very-long-words-" * 8, "20260601-Odd Name!"],
)
@pytest.mark.parametrize("prefix", ["incd-", "a", "incident-response-x-"])
def test_channel_names_are_valid_and_leave_room_for_resolved(prefix: str, incident_id: str) -> None:
    names = list(channel_name_candidates(prefix, incident_id))
    assert len(set(names)) == len(names) == 20
    for name in names:
        assert _CHANNEL_NAME.match(name), name
        assert len(resolved_name(name)) <= MAX_CHANNEL_NAME
        assert unresolved_name(resolved_name(name)) == name


def test_resolved_names_are_not_suffixed_twice() -> None:
    assert resolved_name("incd-x") == "incd-x-resolved"
    assert resolved_name("incd-x-resolved") == "incd-x-resolved"
    assert unresolved_name("incd-x") == "incd-x"
    assert len(resolved_name("c" * 80)) == MAX_CHANNEL_NAME


def test_the_client_url_comes_from_the_argument_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLACK_API_URL", raising=False)
    assert make_web_client("xoxb-1").base_url == DEFAULT_API_URL
    monkeypatch.setenv("SLACK_API_URL", "https://slack-gov.com/api/")
    assert make_web_client("xoxb-1").base_url == "https://slack-gov.com/api/"
    assert make_web_client("xoxb-1", base_url="http://127.0.0.1:9/api").base_url == (
        "http://127.0.0.1:9/api/"
    )


def test_the_client_retries_rate_limits_outages_and_dropped_connections() -> None:
    client = make_web_client("xoxb-1")
    kinds = {type(handler) for handler in client.retry_handlers}
    assert kinds == {
        CappedRateLimitRetryHandler,
        GatewayErrorRetryHandler,
        ConnectionErrorRetryHandler,
    }
    assert client.timeout == REQUEST_TIMEOUT


def test_people_are_named_safely() -> None:
    assert who("U0123ABC") == "<@U0123ABC>"
    assert who("cli:ana<x>") == "ana&lt;x&gt; (from the command line)"
    assert who("plugin:pagerduty") == "Firebell (pagerduty)"
    assert who("<!channel>") == "&lt;!channel&gt;"


def test_links_accept_only_http_urls() -> None:
    assert link("https://a.example/x?a=1&b=2", "Doc <1>") == (
        "<https://a.example/x?a=1&amp;b=2|Doc &lt;1&gt;>"
    )
    assert link("javascript:alert(1)", "Doc") == "Doc"
    assert link("https://a.example/x|<!channel>", "Doc") == (
        "<https://a.example/x%7C&lt;!channel&gt;|Doc>"
    )


def test_durations_read_naturally() -> None:
    assert format_duration(timedelta(seconds=40)) == "40s"
    assert format_duration(timedelta(minutes=12)) == "12m"
    assert format_duration(timedelta(hours=1, minutes=5)) == "1h 05m"
    assert format_duration(timedelta(days=2, hours=3, minutes=1)) == "2d 3h"
