"""The fake Slack Web API, driven through the real ``slack_sdk.WebClient``, and the request builders
checked by slack_sdk's signature verifier and a real Bolt app."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier

from firebell.testing import slack_requests
from firebell.testing.fake_http import Answer, FakeService, Fault, Request
from firebell.testing.fake_slack import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    FakeSlack,
    MethodLimit,
)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as service:
        yield service


def client_for(fake: FakeSlack, *, token: str | None = None, **kwargs: Any) -> WebClient:
    return WebClient(
        token=fake.token if token is None else token, base_url=fake.url + "/api/", **kwargs
    )


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return client_for(fake)


def slack_error(call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value


def error_of(call: Any, *args: Any, **kwargs: Any) -> str:
    return str(slack_error(call, *args, **kwargs).response["error"])


def modal(title: str = "Declare incident", **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": [], **extra}


# -- auth --------------------------------------------------------------------------------------


def test_auth_test_names_the_bot_and_its_scopes(client: WebClient) -> None:
    answer = client.auth_test()
    assert (answer["team_id"], answer["user_id"], answer["bot_id"]) == (
        TEAM_ID,
        BOT_USER_ID,
        BOT_ID,
    )
    assert "channels:manage" in answer.headers["x-oauth-scopes"].split(",")


def test_wrong_or_missing_token_is_refused(fake: FakeSlack) -> None:
    wrong = slack_error(client_for(fake, token="xoxb-wrong").auth_test)
    missing = slack_error(WebClient(base_url=fake.url + "/api/").auth_test)
    assert (wrong.response.status_code, wrong.response["error"]) == (200, "invalid_auth")
    assert missing.response["error"] == "not_authed"


def test_a_removed_scope_answers_missing_scope(client: WebClient) -> None:
    with FakeSlack(scopes={"chat:write", "channels:read"}) as narrow:
        error = slack_error(client_for(narrow).conversations_create, name="incd-x")
        assert error.response["error"] == "missing_scope"
        assert error.response["needed"] == "channels:manage"
        assert client_for(narrow).auth_test().headers["x-oauth-scopes"] == (
            "channels:read,chat:write"
        )


def test_unknown_method(client: WebClient) -> None:
    error = slack_error(client.api_call, "incidents.declare")
    assert (error.response.status_code, error.response["error"]) == (404, "unknown_method")


# -- conversations -----------------------------------------------------------------------------


def test_create_makes_a_channel_with_the_bot_in_it(fake: FakeSlack, client: WebClient) -> None:
    channel = client.conversations_create(name="incd-20260601-honest-rhino")["channel"]
    assert channel["id"].startswith("C")
    assert channel["name"] == "incd-20260601-honest-rhino"
    assert channel["is_member"] is True
    stored = fake.channel_by_name("incd-20260601-honest-rhino")
    assert stored is not None and stored.id == channel["id"]
    assert fake.members(channel["id"]) == [BOT_USER_ID]
    assert client.conversations_info(channel=channel["id"])["channel"]["name"] == channel["name"]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("x" * 81, "invalid_name_maxlength"),
        ("Incd-upper", "invalid_name_specials"),
        ("incd with space", "invalid_name_specials"),
        ("incd#1", "invalid_name_specials"),
        ("--", "invalid_name_punctuation"),
    ],
)
def test_create_refuses_bad_names(client: WebClient, name: str, error: str) -> None:
    assert error_of(client.conversations_create, name=name) == error


def test_eighty_characters_is_allowed(client: WebClient) -> None:
    assert client.conversations_create(name="a" * 80)["channel"]["name"] == "a" * 80


def test_names_stay_taken_after_archiving(client: WebClient) -> None:
    channel_id = client.conversations_create(name="incd-dup")["channel"]["id"]
    assert error_of(client.conversations_create, name="incd-dup") == "name_taken"
    client.conversations_archive(channel=channel_id)
    assert error_of(client.conversations_create, name="incd-dup") == "name_taken"


def test_rename(fake: FakeSlack, client: WebClient) -> None:
    channel_id = client.conversations_create(name="incd-a")["channel"]["id"]
    client.conversations_create(name="incd-b")
    renamed = client.conversations_rename(channel=channel_id, name="incd-a-resolved")["channel"]
    assert renamed["name"] == "incd-a-resolved"
    assert renamed["previous_names"] == ["incd-a"]
    assert fake.channel_by_name("incd-a") is None
    taken = slack_error(client.conversations_rename, channel=channel_id, name="incd-b")
    assert taken.response["error"] == "name_taken"
    too_long = slack_error(client.conversations_rename, channel=channel_id, name="a" * 81)
    assert too_long.response["error"] == "invalid_name_maxlength"
    assert error_of(client.conversations_rename, channel="C404", name="x") == "channel_not_found"


def test_archive_and_what_an_archived_channel_refuses(client: WebClient) -> None:
    channel_id = client.conversations_create(name="incd-arch")["channel"]["id"]
    assert client.conversations_archive(channel=channel_id)["ok"] is True
    assert client.conversations_info(channel=channel_id)["channel"]["is_archived"] is True
    for call, kwargs in [
        (client.conversations_archive, {}),
        (client.conversations_setTopic, {"topic": "t"}),
        (client.chat_postMessage, {"text": "hello"}),
        (client.conversations_invite, {"users": "U1"}),
        (client.conversations_rename, {"name": "incd-arch-2"}),
    ]:
        error = error_of(call, channel=channel_id, **kwargs)
        expected = "already_archived" if call == client.conversations_archive else "is_archived"
        assert error == expected, call
    client.conversations_unarchive(channel=channel_id)
    assert client.chat_postMessage(channel=channel_id, text="back")["ok"] is True
    again = slack_error(client.conversations_unarchive, channel=channel_id)
    assert again.response["error"] == "not_archived"


def test_set_topic_up_to_250_characters(fake: FakeSlack, client: WebClient) -> None:
    channel_id = client.conversations_create(name="incd-topic")["channel"]["id"]
    client.conversations_setTopic(channel=channel_id, topic="t" * 250)
    assert fake.topic(channel_id) == "t" * 250
    error = slack_error(client.conversations_setTopic, channel=channel_id, topic="t" * 251)
    assert error.response["error"] == "too_long"
    assert fake.topic(channel_id) == "t" * 250


def test_invite(fake: FakeSlack, client: WebClient) -> None:
    ana = fake.add_user("ana")
    bo = fake.add_user("bo")
    channel_id = client.conversations_create(name="incd-inv")["channel"]["id"]
    client.conversations_invite(channel=channel_id, users=[ana, bo])
    assert fake.members(channel_id) == [BOT_USER_ID, ana, bo]

    def invite_error(users: str) -> str:
        error = slack_error(client.conversations_invite, channel=channel_id, users=users)
        return str(error.response["error"])

    assert invite_error(ana) == "already_in_channel"
    assert invite_error(BOT_USER_ID) == "cant_invite_self"
    assert invite_error("U0NOBODY") == "user_not_found"
    assert fake.members(channel_id) == [BOT_USER_ID, ana, bo]

    cy = fake.add_user("cy")
    forced = client.conversations_invite(channel=channel_id, users=f"U0NOBODY,{cy}", force=True)
    assert [e["error"] for e in forced["errors"]] == ["user_not_found"]
    assert fake.members(channel_id)[-1] == cy


def test_the_bot_must_be_in_a_channel_to_invite_or_set_its_topic(
    fake: FakeSlack, client: WebClient
) -> None:
    ana = fake.add_user("ana")
    channel_id = fake.add_channel("general", bot_is_member=False)
    assert error_of(client.conversations_invite, channel=channel_id, users=ana) == "not_in_channel"
    assert error_of(client.conversations_setTopic, channel=channel_id, topic="t") == (
        "not_in_channel"
    )
    client.conversations_join(channel=channel_id)
    client.conversations_invite(channel=channel_id, users=ana)
    assert client.conversations_members(channel=channel_id)["members"] == [BOT_USER_ID, ana]


def test_list_paginates_with_cursors(fake: FakeSlack, client: WebClient) -> None:
    for i in range(5):
        client.conversations_create(name=f"incd-{i}")
    fake.add_channel("secret", is_private=True, bot_is_member=False)
    # A SlackResponse fetches the next page into itself as it is iterated.
    pages = [list(page["channels"]) for page in client.conversations_list(limit=2)]
    assert [len(p) for p in pages] == [2, 2, 1]
    names = [c["name"] for p in pages for c in p]
    assert names == [f"incd-{i}" for i in range(5)]
    bad = slack_error(client.conversations_list, cursor="garbage")
    assert bad.response["error"] == "invalid_cursor"


# -- chat --------------------------------------------------------------------------------------


def test_post_message_and_history(fake: FakeSlack, client: WebClient) -> None:
    channel_id = client.conversations_create(name="incd-chat")["channel"]["id"]
    first = client.chat_postMessage(channel=channel_id, text="first")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*second*"}}]
    second = client.chat_postMessage(channel=channel_id, text="second", blocks=blocks)
    reply = client.chat_postMessage(channel=channel_id, text="reply", thread_ts=first["ts"])
    assert float(first["ts"]) < float(second["ts"]) < float(reply["ts"])
    assert [m["text"] for m in fake.messages(channel_id)] == ["first", "second", "reply"]
    assert fake.messages(channel_id)[1]["blocks"] == blocks

    history = client.conversations_history(channel=channel_id)["messages"]
    texts = [m["text"] for m in history if "subtype" not in m]
    assert texts == ["second", "first"]  # newest first, thread replies left out
    assert history[1]["reply_count"] == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, "no_text"),
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"channel": "C0NOWHERE", "text": "hi"}, "channel_not_found"),
        (
            {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
            "invalid_blocks",
        ),
        ({"blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_errors(
    fake: FakeSlack, client: WebClient, kwargs: dict[str, Any], error: str
) -> None:
    channel_id = client.conversations_create(name="incd-err")["channel"]["id"]
    kwargs = {"channel": channel_id, **kwargs}
    assert error_of(client.chat_postMessage, **kwargs) == error
    assert fake.messages(channel_id) == []


def test_a_user_id_posts_to_a_direct_message(fake: FakeSlack, client: WebClient) -> None:
    ana = fake.add_user("ana")
    answer = client.chat_postMessage(channel=ana, text="I've created #incd-x")
    assert answer["channel"].startswith("D")
    dm = fake.dm_channel(ana)
    assert dm is not None and dm.id == answer["channel"]
    assert [m["text"] for m in fake.messages(dm.id)] == ["I've created #incd-x"]
    assert client.conversations_open(users=ana)["channel"]["id"] == dm.id
    assert error_of(client.chat_postMessage, channel="U0NOBODY", text="hi") == "channel_not_found"


def test_update_ephemeral_and_permalink(fake: FakeSlack, client: WebClient) -> None:
    ana = fake.add_user("ana")
    channel_id = client.conversations_create(name="incd-upd")["channel"]["id"]
    ts = client.chat_postMessage(channel=channel_id, text="investigating")["ts"]
    client.chat_update(channel=channel_id, ts=ts, text="resolved")
    assert [m["text"] for m in fake.messages(channel_id)] == ["resolved"]
    assert (
        error_of(client.chat_update, channel=channel_id, ts="1.000001", text="x")
        == "message_not_found"
    )
    theirs = fake.post_user_message(channel_id, ana, "mine")
    assert (
        error_of(client.chat_update, channel=channel_id, ts=theirs, text="x")
        == "cant_update_message"
    )

    not_member = slack_error(client.chat_postEphemeral, channel=channel_id, user=ana, text="psst")
    assert not_member.response["error"] == "user_not_in_channel"
    client.conversations_invite(channel=channel_id, users=ana)
    client.chat_postEphemeral(channel=channel_id, user=ana, text="psst")
    assert fake.ephemeral_messages(channel_id)[0]["user"] == ana

    link = client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"]
    assert link.endswith(f"/archives/{channel_id}/p{ts.replace('.', '')}")


def test_posting_to_a_public_channel_the_bot_is_not_in_needs_chat_write_public(
    fake: FakeSlack, client: WebClient
) -> None:
    channel_id = fake.add_channel("incidents", bot_is_member=False)
    client.chat_postMessage(channel=channel_id, text="New incident created")
    fake.scopes.discard("chat:write.public")
    error = slack_error(client.chat_postMessage, channel=channel_id, text="again")
    assert error.response["error"] == "not_in_channel"


# -- bookmarks ---------------------------------------------------------------------------------


def test_bookmarks(fake: FakeSlack, client: WebClient) -> None:
    channel_id = client.conversations_create(name="incd-bm")["channel"]["id"]
    added = client.bookmarks_add(
        channel_id=channel_id,
        title="Incident documentation",
        type="link",
        link="https://docs.example.com/incidents",
    )["bookmark"]
    assert added["title"] == "Incident documentation"
    assert client.bookmarks_list(channel_id=channel_id)["bookmarks"] == [added]
    assert fake.bookmarks(channel_id) == [added]

    def add_error(**kwargs: Any) -> str:
        error = slack_error(client.bookmarks_add, channel_id=channel_id, title="T", **kwargs)
        return str(error.response["error"])

    assert add_error(type="link", link="not a url") == "invalid_link"
    assert add_error(type="file", link="https://x.example") == "invalid_bookmark_type"
    fake.scopes.discard("bookmarks:write")
    assert add_error(type="link", link="https://x.example") == "missing_scope"
    assert len(fake.bookmarks(channel_id)) == 1


# -- views -------------------------------------------------------------------------------------


def test_views_open_records_the_modal(fake: FakeSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id="123.456.abc", view=modal(callback_id="declare"))["view"]
    assert view["id"].startswith("V")
    assert fake.opened_views == [view]
    assert fake.opened_views[0]["callback_id"] == "declare"


def test_views_open_refuses_long_titles_and_bad_triggers(
    fake: FakeSlack, client: WebClient
) -> None:
    too_long = slack_error(client.views_open, trigger_id="t.1", view=modal("x" * 25))
    assert too_long.response["error"] == "invalid_arguments"
    assert "/view/title/text" in too_long.response["response_metadata"]["messages"][0]
    client.views_open(trigger_id="t.2", view=modal("x" * 24))
    assert error_of(client.views_open, trigger_id="t.2", view=modal()) == "exchanged_trigger_id"
    assert error_of(client.views_open, trigger_id="", view=modal()) == "invalid_trigger_id"
    fake.expire_trigger("t.3")
    assert error_of(client.views_open, trigger_id="t.3", view=modal()) == "expired_trigger_id"
    assert len(fake.opened_views) == 1


def test_issued_triggers_expire() -> None:
    with FakeSlack(trigger_ttl=0.2) as fake:
        client = client_for(fake)
        fresh, stale = fake.issue_trigger_id(), fake.issue_trigger_id()
        client.views_open(trigger_id=fresh, view=modal())
        time.sleep(0.3)
        error = slack_error(client.views_open, trigger_id=stale, view=modal())
        assert error.response["error"] == "expired_trigger_id"


def test_views_update_and_push(client: WebClient) -> None:
    opened = client.views_open(trigger_id="t.1", view=modal())["view"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Done"))
    assert updated["view"]["title"]["text"] == "Done"
    stale = slack_error(
        client.views_update, view_id=opened["id"], hash=opened["hash"], view=modal()
    )
    assert stale.response["error"] == "hash_conflict"
    assert error_of(client.views_update, view_id="V0NONE", view=modal()) == "not_found"
    pushed = client.views_push(trigger_id="t.2", view=modal("Confirm"))["view"]
    assert pushed["previous_view_id"] == opened["id"]
    client.views_push(trigger_id="t.3", view=modal("Third"))
    full = slack_error(client.views_push, trigger_id="t.4", view=modal("Fourth"))
    assert full.response["error"] == "push_limit_reached"


def test_a_modal_with_inputs_needs_a_submit_button(client: WebClient) -> None:
    inputs = [
        {
            "type": "input",
            "block_id": "description",
            "label": {"type": "plain_text", "text": "Description"},
            "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
        }
    ]
    error = slack_error(client.views_open, trigger_id="t.1", view=modal(blocks=inputs))
    assert error.response["error"] == "invalid_arguments"
    submit = {"type": "plain_text", "text": "Declare"}
    client.views_open(trigger_id="t.2", view=modal(blocks=inputs, submit=submit))


# -- users and user groups ---------------------------------------------------------------------


def test_users_and_usergroups(fake: FakeSlack, client: WebClient) -> None:
    ana = fake.add_user("ana", email="ana@example.com", real_name="Ana Lima")
    oncall = fake.add_usergroup("oncall", users=[ana])
    assert client.users_info(user=ana)["user"]["real_name"] == "Ana Lima"
    assert client.users_lookupByEmail(email="ANA@example.com")["user"]["id"] == ana
    missing = slack_error(client.users_lookupByEmail, email="nobody@example.com")
    assert missing.response["error"] == "users_not_found"
    assert error_of(client.users_info, user="U0NOBODY") == "user_not_found"
    groups = client.usergroups_list(include_users=True)["usergroups"]
    assert [(g["id"], g["handle"], g["users"]) for g in groups] == [(oncall, "oncall", [ana])]
    assert client.usergroups_users_list(usergroup=oncall)["users"] == [ana]
    unknown = slack_error(client.usergroups_users_list, usergroup="S0NONE")
    assert unknown.response["error"] == "no_such_subteam"


# -- rate limits and faults --------------------------------------------------------------------


def test_tier_2_allows_a_burst_then_answers_429() -> None:
    with FakeSlack(rate_limits=True) as fake:
        client = client_for(fake, retry_handlers=[])
        for i in range(20):
            client.conversations_create(name=f"incd-{i}")
        error = slack_error(client.conversations_create, name="incd-20")
        assert error.response.status_code == 429
        assert error.response["error"] == "ratelimited"
        assert int(error.response.headers["Retry-After"]) >= 1
        assert fake.channel_by_name("incd-20") is None


def test_post_message_is_limited_per_channel() -> None:
    with FakeSlack(rate_limits=True) as fake:
        client = client_for(fake, retry_handlers=[])
        a, b = fake.add_channel("a"), fake.add_channel("b")
        for _ in range(3):
            client.chat_postMessage(channel=a, text="burst")
        refused = slack_error(client.chat_postMessage, channel=a, text="x")
        assert refused.response.status_code == 429
        client.chat_postMessage(channel=b, text="other channel")


def test_time_scale_refills_a_minute_quickly() -> None:
    # At 30x, Tier 2's 20 calls a minute come back at 10 a second instead of one every 3 s.
    with FakeSlack(rate_limits=True, time_scale=30) as fake:
        client = client_for(fake, retry_handlers=[])
        channel_id = fake.add_channel("scaled")
        allowed = 0
        while allowed < 40:
            try:
                client.conversations_setTopic(channel=channel_id, topic="t")
            except SlackApiError as e:
                assert e.response.status_code == 429
                break
            allowed += 1
        assert 20 <= allowed < 40
        time.sleep(0.3)
        client.conversations_setTopic(channel=channel_id, topic="t")


def test_rate_limit_retry_handler_waits_for_retry_after() -> None:
    table = {"conversations.create": MethodLimit(per_minute=60, burst=1)}
    with FakeSlack(rate_limits=True, rate_limit_table=table) as fake:
        client = client_for(fake, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
        client.conversations_create(name="incd-1")
        started = time.monotonic()
        client.conversations_create(name="incd-2")
        assert time.monotonic() - started >= 1.0
        statuses = [c.status for c in fake.calls_to(r"/api/conversations\.create$")]
        assert statuses == [200, 429, 200]
        assert fake.channel_by_name("incd-2") is not None


def test_injected_500_is_retried_by_the_server_error_handler(fake: FakeSlack) -> None:
    channel_id = fake.add_channel("faulty")
    fake.fail_next(r"/api/chat\.postMessage", Fault(500, {"ok": False, "error": "fatal_error"}))
    plain = client_for(fake, retry_handlers=[])
    assert error_of(plain.chat_postMessage, channel=channel_id, text="x") == "fatal_error"
    assert fake.messages(channel_id) == []

    fake.fail_next(r"/api/chat\.postMessage", Fault(503, {"ok": False, "error": "service_unavail"}))
    retrying = client_for(fake, retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)])
    retrying.chat_postMessage(channel=channel_id, text="after retry")
    assert [m["text"] for m in fake.messages(channel_id)] == ["after retry"]
    statuses = [c.status for c in fake.calls_to(r"/api/chat\.postMessage")]
    assert statuses == [500, 503, 200]


def test_a_dropped_connection_is_retried_by_default(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next(r"/api/auth\.test", Fault(drop=True))
    assert client.auth_test()["ok"] is True
    assert [c.status for c in fake.calls_to(r"/api/auth\.test")] == [0, 200]


# -- signed requests ---------------------------------------------------------------------------


def test_sign_is_what_slack_sdk_verifies() -> None:
    body = slack_requests.slash_command("/incident", "db is down")
    headers = slack_requests.sign(body, "s3cret")
    verifier = SignatureVerifier("s3cret")
    stamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert verifier.is_valid(body, stamp, signature)
    assert not verifier.is_valid(body + b"x", stamp, signature)
    assert not SignatureVerifier("other").is_valid(body, stamp, signature)
    old = slack_requests.sign(body, "s3cret", timestamp=int(time.time()) - 600)
    assert not verifier.is_valid(body, old["X-Slack-Request-Timestamp"], old["X-Slack-Signature"])


def test_slash_command_has_every_field_slack_sends() -> None:
    body = slack_requests.slash_command(
        "/incident", "db & cache down", user_id="U1", channel_id="C1", channel_name="ops"
    )
    fields = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert fields["command"] == "/incident"
    assert fields["text"] == "db & cache down"
    assert (fields["user_id"], fields["channel_id"], fields["channel_name"]) == ("U1", "C1", "ops")
    assert {
        "token",
        "team_id",
        "team_domain",
        "user_name",
        "api_app_id",
        "response_url",
        "trigger_id",
    } <= set(fields)


def test_send_posts_signed_headers_and_retry_number() -> None:
    received: list[Request] = []

    def record(request: Request) -> Answer:
        received.append(request)
        return Answer(200, {})

    app = FakeService()
    app.route("POST", "/slack/events", record)
    with app:
        body = slack_requests.event_callback({"type": "app_mention", "text": "hi"}, event_id="Ev1")
        response = slack_requests.send(
            app.url + "/slack/events", body, signing_secret="s3cret", retry_num=1
        )
    assert response.status_code == 200
    request = received[0]
    assert request.header("content-type") == "application/json"
    assert request.header("x-slack-retry-num") == "1"
    assert request.header("x-slack-retry-reason") == "http_timeout"
    assert SignatureVerifier("s3cret").is_valid(
        request.body,
        request.header("x-slack-request-timestamp") or "",
        request.header("x-slack-signature") or "",
    )
    assert json.loads(request.body)["event_id"] == "Ev1"


# -- a real Bolt app against the fake, fed by the request builders ------------------------------


@pytest.fixture
def bolt_app(fake: FakeSlack) -> App:
    return App(
        client=client_for(fake),
        signing_secret=slack_requests.SIGNING_SECRET,
        process_before_response=True,
    )


def dispatch(app: App, body: bytes, *, signing_secret: str = slack_requests.SIGNING_SECRET) -> int:
    headers = slack_requests.headers_for(body, signing_secret=signing_secret)
    return app.dispatch(BoltRequest(body=body.decode(), headers=dict(headers))).status


def test_bolt_accepts_a_slash_command_and_opens_a_modal_on_the_fake(
    fake: FakeSlack, bolt_app: App
) -> None:
    @bolt_app.command("/incident")
    def open_modal(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=modal(callback_id="declare"))

    trigger_id = fake.issue_trigger_id()
    body = slack_requests.slash_command("/incident", trigger_id=trigger_id)
    assert dispatch(bolt_app, body) == 200
    assert [v["callback_id"] for v in fake.opened_views] == ["declare"]


def test_bolt_reads_view_submission_values(bolt_app: App) -> None:
    seen: list[dict[str, Any]] = []

    @bolt_app.view("declare")
    def submitted(ack: Any, view: dict[str, Any]) -> None:
        ack()
        seen.append(view)

    values = {
        "description": {"value": slack_requests.plain_text_value("db down")},
        "severity": {"value": slack_requests.static_select_value("SEV1")},
    }
    body = slack_requests.view_submission("declare", values, private_metadata="C1")
    assert dispatch(bolt_app, body) == 200
    state = seen[0]["state"]["values"]
    assert state["description"]["value"]["value"] == "db down"
    assert state["severity"]["value"]["selected_option"]["value"] == "SEV1"
    assert seen[0]["private_metadata"] == "C1"


def test_bolt_refuses_a_bad_signature(bolt_app: App) -> None:
    body = slack_requests.block_actions("ack_incident", value="INC-1", message_ts="1.000001")
    assert dispatch(bolt_app, body, signing_secret="not-the-secret") == 401


def test_bolt_routes_a_button_click(bolt_app: App) -> None:
    clicked: list[dict[str, Any]] = []

    @bolt_app.action("ack_incident")
    def on_click(ack: Any, action: dict[str, Any], body: dict[str, Any]) -> None:
        ack()
        clicked.append({"value": action["value"], "channel": body["channel"]["id"]})

    body = slack_requests.block_actions(
        "ack_incident", value="INC-1", channel_id="C9", message_ts="1.000001"
    )
    assert dispatch(bolt_app, body) == 200
    assert clicked == [{"value": "INC-1", "channel": "C9"}]


def test_bolt_routes_an_event_callback(bolt_app: App) -> None:
    mentions: list[str] = []

    @bolt_app.event("app_mention")
    def on_mention(event: dict[str, Any]) -> None:
        mentions.append(event["text"])

    event = {"type": "app_mention", "user": "U1", "text": "<@U0FIREBOT> status", "ts": "1.2"}
    assert dispatch(bolt_app, slack_requests.event_callback(event)) == 200
    assert mentions == ["<@U0FIREBOT> status"]
