"""The fake Notion answers the real ``notion_client`` the way api.notion.com (2025-09-03) does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import notion_client
import pytest
from notion_client import APIErrorCode, APIResponseError

from firebell.testing.fake_http import Fault
from firebell.testing.fake_notion import (
    NOTION_DATA_SOURCE_ID,
    NOTION_DATABASE_ID,
    NOTION_TOKEN,
    NOTION_VERSION,
    FakeNotion,
    notion_fault,
)


@pytest.fixture
def notion() -> Iterator[FakeNotion]:
    with FakeNotion() as fake:
        yield fake


@pytest.fixture
def client(notion: FakeNotion) -> notion_client.Client:
    return notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)


def sync(answer: Any) -> dict[str, Any]:
    """The synchronous client's answer, typed (notion_client annotates it ``Any | Awaitable``)."""
    assert isinstance(answer, dict)
    return answer


def text(content: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": content}}]


def paragraph(content: str) -> dict[str, Any]:
    return {"object": "block", "type": "paragraph", "paragraph": {"rich_text": text(content)}}


def postmortem(incident_id: str, title: str = "Checkout is down") -> dict[str, Any]:
    return {
        "Name": {"title": text(f"{incident_id} {title}")},
        "Title": {"rich_text": text(title)},
        "Severity": {"select": {"name": "SEV2"}},
        "Status": {"status": {"name": "Open"}},
        "Slack channel": {"url": "https://example.slack.com/archives/C123"},
        "Declared at": {"date": {"start": "2026-06-01T14:02:00+00:00"}},
        "Duration (minutes)": {"number": 42},
        "Incident": {"rich_text": text(incident_id)},
    }


def data_source_id(client: notion_client.Client) -> str:
    database = sync(client.databases.retrieve(NOTION_DATABASE_ID))
    return str(database["data_sources"][0]["id"])


def create(
    client: notion_client.Client, incident_id: str, children: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return sync(
        client.pages.create(
            parent={"type": "data_source_id", "data_source_id": data_source_id(client)},
            properties=postmortem(incident_id),
            children=children or [],
        )
    )


def test_the_client_sends_the_version_the_fake_speaks(
    notion: FakeNotion, client: notion_client.Client
) -> None:
    client.databases.retrieve(NOTION_DATABASE_ID)
    request = notion.calls[-1].request
    assert request.header("Notion-Version") == NOTION_VERSION
    assert request.path == f"/v1/databases/{NOTION_DATABASE_ID}"


def test_a_database_resolves_to_its_data_source_and_schema(client: notion_client.Client) -> None:
    database = sync(client.databases.retrieve(NOTION_DATABASE_ID))
    assert database["object"] == "database"
    assert [ds["id"] for ds in database["data_sources"]] == [NOTION_DATA_SOURCE_ID]

    source = sync(client.data_sources.retrieve(database["data_sources"][0]["id"]))
    types = {name: prop["type"] for name, prop in source["properties"].items()}
    assert types["Name"] == "title"
    assert types["Incident"] == "rich_text"
    assert types["Duration (minutes)"] == "number"
    assert source["parent"] == {"type": "database_id", "database_id": NOTION_DATABASE_ID}


def test_ids_without_dashes_are_the_same_object(client: notion_client.Client) -> None:
    database = sync(client.databases.retrieve(NOTION_DATABASE_ID.replace("-", "")))
    assert database["id"] == NOTION_DATABASE_ID


def test_create_a_page_with_children(notion: FakeNotion, client: notion_client.Client) -> None:
    children = [
        {"heading_2": {"rich_text": text("Timeline")}},
        paragraph("14:02 declared"),
        {"to_do": {"rich_text": text("Write the post-mortem"), "checked": False}},
        {"divider": {}},
        {
            "bulleted_list_item": {
                "rich_text": text("Impact"),
                "children": [paragraph("Checkout failed for 12% of users")],
            }
        },
    ]
    page = create(client, "INC-1", children)

    assert page["object"] == "page"
    assert page["url"].startswith("https://www.notion.so/INC-1-Checkout-is-down-")
    assert page["parent"]["data_source_id"] == NOTION_DATA_SOURCE_ID
    assert page["properties"]["Severity"]["select"]["name"] == "SEV2"
    blocks = notion.page_blocks(page["id"])
    assert [(b.type, b.text, b.depth) for b in blocks] == [
        ("heading_2", "Timeline", 0),
        ("paragraph", "14:02 declared", 0),
        ("to_do", "Write the post-mortem", 0),
        ("divider", "", 0),
        ("bulleted_list_item", "Impact", 0),
        ("paragraph", "Checkout failed for 12% of users", 1),
    ]
    assert blocks[2].checked is False
    assert notion.page_properties(page["id"]) == {
        "Name": "INC-1 Checkout is down",
        "Title": "Checkout is down",
        "Severity": "SEV2",
        "Status": "Open",
        "Slack channel": "https://example.slack.com/archives/C123",
        "PagerDuty": None,
        "Declared at": "2026-06-01T14:02:00+00:00",
        "Duration (minutes)": 42,
        "Incident": "INC-1",
    }
    assert client.pages.retrieve(page["id"]) == notion.page(page["id"])


def test_more_than_100_blocks_are_refused(notion: FakeNotion, client: notion_client.Client) -> None:
    with pytest.raises(APIResponseError) as refused:
        create(client, "INC-2", [paragraph(f"line {i}") for i in range(101)])
    assert refused.value.status == 400
    assert refused.value.code == APIErrorCode.ValidationError
    assert "body.children.length should be ≤ `100`, instead was `101`" in str(refused.value)
    assert notion.pages == []

    page = create(client, "INC-2", [paragraph(f"line {i}") for i in range(100)])
    assert len(notion.page_blocks(page["id"])) == 100


def test_rich_text_over_2000_characters_is_refused(
    notion: FakeNotion, client: notion_client.Client
) -> None:
    with pytest.raises(APIResponseError) as refused:
        create(client, "INC-3", [paragraph("x" * 2001)])
    assert refused.value.code == APIErrorCode.ValidationError
    assert "rich_text[0].text.content.length should be ≤ `2000`" in str(refused.value)

    properties = postmortem("INC-3")
    properties["Title"] = {"rich_text": text("y" * 2001)}
    with pytest.raises(APIResponseError, match=r"Title\.rich_text\[0\]"):
        client.pages.create(
            parent={"type": "data_source_id", "data_source_id": NOTION_DATA_SOURCE_ID},
            properties=properties,
        )
    assert notion.pages == []
    create(client, "INC-3", [paragraph("x" * 2000)])


def test_properties_must_match_the_schema(client: notion_client.Client) -> None:
    parent = {"type": "data_source_id", "data_source_id": NOTION_DATA_SOURCE_ID}
    with pytest.raises(APIResponseError, match="Owner is not a property that exists"):
        client.pages.create(parent=parent, properties={"Owner": {"rich_text": text("ana")}})
    with pytest.raises(APIResponseError, match="Severity is expected to be select"):
        client.pages.create(parent=parent, properties={"Severity": {"rich_text": text("SEV1")}})
    with pytest.raises(APIResponseError, match='Status option "Draft" does not exist'):
        client.pages.create(parent=parent, properties={"Status": {"status": {"name": "Draft"}}})


def test_a_new_select_option_is_added_to_the_schema(client: notion_client.Client) -> None:
    client.pages.create(
        parent={"type": "data_source_id", "data_source_id": NOTION_DATA_SOURCE_ID},
        properties={"Severity": {"select": {"name": "SEV0"}}},
    )
    source = sync(client.data_sources.retrieve(NOTION_DATA_SOURCE_ID))
    options = [o["name"] for o in source["properties"]["Severity"]["select"]["options"]]
    assert options == ["SEV1", "SEV2", "SEV3", "SEV4", "SEV0"]


def test_query_finds_a_page_by_its_incident_property(client: notion_client.Client) -> None:
    for number in range(1, 4):
        create(client, f"INC-{number}")

    found = sync(
        client.data_sources.query(
            NOTION_DATA_SOURCE_ID,
            filter={"property": "Incident", "rich_text": {"equals": "INC-2"}},
        )
    )
    assert [
        p["properties"]["Incident"]["rich_text"][0]["plain_text"] for p in found["results"]
    ] == ["INC-2"]
    assert found["has_more"] is False

    none = sync(
        client.data_sources.query(
            NOTION_DATA_SOURCE_ID,
            filter={"property": "Incident", "rich_text": {"equals": "INC-9"}},
        )
    )
    assert none["results"] == []

    with pytest.raises(APIResponseError, match="Could not find property with name or id: Nope"):
        client.data_sources.query(
            NOTION_DATA_SOURCE_ID, filter={"property": "Nope", "rich_text": {"equals": "x"}}
        )


def test_query_pages_through_results(client: notion_client.Client) -> None:
    for number in range(5):
        create(client, f"INC-{number}")
    seen: list[str] = []
    cursor = None
    while True:
        answer = sync(
            client.data_sources.query(NOTION_DATA_SOURCE_ID, page_size=2, start_cursor=cursor)
        )
        seen += [
            p["properties"]["Incident"]["rich_text"][0]["plain_text"] for p in answer["results"]
        ]
        if not answer["has_more"]:
            break
        cursor = answer["next_cursor"]
    assert seen == [f"INC-{n}" for n in range(5)]


def test_trashed_pages_leave_query_results(
    notion: FakeNotion, client: notion_client.Client
) -> None:
    page = create(client, "INC-7")
    client.pages.update(page["id"], in_trash=True)
    assert sync(client.data_sources.query(NOTION_DATA_SOURCE_ID))["results"] == []
    assert notion.page(page["id"])["in_trash"] is True
    with pytest.raises(APIResponseError, match="archived"):
        client.pages.update(page["id"], properties={"Status": {"status": {"name": "Closed"}}})


def test_update_page_properties(notion: FakeNotion, client: notion_client.Client) -> None:
    page = create(client, "INC-8")
    updated = sync(
        client.pages.update(
            page["id"],
            properties={
                "Status": {"status": {"name": "Resolved"}},
                "Duration (minutes)": {"number": 90},
            },
        )
    )
    assert updated["properties"]["Status"]["status"]["name"] == "Resolved"
    assert notion.page_properties(page["id"])["Duration (minutes)"] == 90
    assert notion.page_properties(page["id"])["Incident"] == "INC-8"


def test_append_children_at_the_end_and_after_a_block(
    notion: FakeNotion, client: notion_client.Client
) -> None:
    page = create(client, "INC-4", [paragraph("first"), paragraph("last")])
    appended = sync(client.blocks.children.append(page["id"], children=[paragraph("appended")]))
    assert [b["paragraph"]["rich_text"][0]["plain_text"] for b in appended["results"]] == [
        "appended"
    ]
    first = notion.page_blocks(page["id"])[0]
    client.blocks.children.append(page["id"], children=[paragraph("second")], after=first.id)
    client.blocks.children.append(
        page["id"], children=[paragraph("zeroth")], position={"type": "start"}
    )
    assert [b.text for b in notion.page_blocks(page["id"])] == [
        "zeroth",
        "first",
        "second",
        "last",
        "appended",
    ]
    with pytest.raises(APIResponseError, match="length should be ≤ `100`"):
        client.blocks.children.append(page["id"], children=[paragraph("x")] * 101)


def test_list_children_is_paginated(client: notion_client.Client) -> None:
    page = create(client, "INC-5", [paragraph(str(n)) for n in range(7)])
    first = sync(client.blocks.children.list(page["id"], page_size=5))
    assert len(first["results"]) == 5
    assert first["has_more"] is True
    rest = sync(client.blocks.children.list(page["id"], start_cursor=first["next_cursor"]))
    texts = [
        b["paragraph"]["rich_text"][0]["plain_text"] for b in first["results"] + rest["results"]
    ]
    assert texts == [str(n) for n in range(7)]
    assert rest["has_more"] is False
    assert rest["next_cursor"] is None


def test_update_and_delete_a_block(notion: FakeNotion, client: notion_client.Client) -> None:
    page = create(client, "INC-6", [paragraph("draft"), paragraph("doomed")])
    draft, doomed = notion.page_blocks(page["id"])
    client.blocks.update(draft.id, paragraph={"rich_text": text("final")})
    client.blocks.delete(doomed.id)
    assert [b.text for b in notion.page_blocks(page["id"])] == ["final"]
    with pytest.raises(APIResponseError, match="archived"):
        client.blocks.update(doomed.id, paragraph={"rich_text": text("zombie")})
    with pytest.raises(APIResponseError, match="is a paragraph"):
        client.blocks.update(draft.id, heading_2={"rich_text": text("nope")})


def test_updating_a_block_keeps_the_fields_left_out(
    notion: FakeNotion, client: notion_client.Client
) -> None:
    page = create(
        client,
        "INC-7",
        [
            {"type": "to_do", "to_do": {"rich_text": text("Rotate keys"), "checked": True}},
            {"type": "paragraph", "paragraph": {"rich_text": text("note"), "color": "gray"}},
        ],
    )
    task, note = notion.page_blocks(page["id"])
    client.blocks.update(task.id, to_do={"rich_text": text("Rotate the keys")})
    client.blocks.update(note.id, paragraph={"rich_text": text("a note")})
    client.blocks.update(task.id, to_do={"checked": False})

    updated_task = sync(client.blocks.retrieve(task.id))["to_do"]
    updated_note = sync(client.blocks.retrieve(note.id))["paragraph"]
    assert updated_task["rich_text"][0]["plain_text"] == "Rotate the keys"
    assert updated_task["checked"] is False
    assert (updated_note["rich_text"][0]["plain_text"], updated_note["color"]) == ("a note", "gray")
    assert [b.checked for b in notion.page_blocks(page["id"])] == [False, None]


def test_a_wrong_token_is_unauthorized(notion: FakeNotion) -> None:
    intruder = notion_client.Client(auth="ntn_wrong", base_url=notion.url)
    with pytest.raises(APIResponseError) as refused:
        intruder.databases.retrieve(NOTION_DATABASE_ID)
    assert refused.value.status == 401
    assert refused.value.code == APIErrorCode.Unauthorized


def test_the_version_header_is_required(notion: FakeNotion) -> None:
    answer = httpx.get(
        f"{notion.url}/v1/databases/{NOTION_DATABASE_ID}",
        headers={"Authorization": f"Bearer {NOTION_TOKEN}"},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "missing_version"
    assert answer.json()["object"] == "error"


def test_unknown_objects_and_paths(client: notion_client.Client, notion: FakeNotion) -> None:
    with pytest.raises(APIResponseError) as missing:
        client.pages.retrieve("00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404
    assert missing.value.code == APIErrorCode.ObjectNotFound
    with pytest.raises(APIResponseError) as bad_url:
        client.request("nowhere", "GET")
    assert bad_url.value.code == APIErrorCode.InvalidRequestURL


def test_429_is_surfaced_as_rate_limited_once_retries_are_spent(notion: FakeNotion) -> None:
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url, retry=False)
    notion.fail_next(
        r"^/v1/databases/", notion_fault(429, "rate_limited", headers={"Retry-After": "1"})
    )
    with pytest.raises(APIResponseError) as limited:
        client.databases.retrieve(NOTION_DATABASE_ID)
    assert limited.value.status == 429
    assert limited.value.code == APIErrorCode.RateLimited
    assert limited.value.headers["Retry-After"] == "1"


def test_the_client_gives_up_after_two_retries(notion: FakeNotion) -> None:
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
    limited = notion_fault(429, "rate_limited", headers={"Retry-After": "0"})
    notion.fail_next(r"^/v1/pages$", limited, times=3)
    with pytest.raises(APIResponseError) as refused:
        create(client, "INC-12")
    assert refused.value.code == APIErrorCode.RateLimited
    assert [c.status for c in notion.calls_to(r"^/v1/pages$")] == [429, 429, 429]
    assert notion.pages == []


def test_the_client_retries_429_after_retry_after(notion: FakeNotion) -> None:
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
    notion.fail_next(
        r"^/v1/pages$", notion_fault(429, "rate_limited", headers={"Retry-After": "0"})
    )
    create(client, "INC-10")
    assert [c.status for c in notion.calls_to(r"^/v1/pages$")] == [429, 200]
    assert len(notion.pages) == 1


def test_requests_per_second_is_enforced() -> None:
    with FakeNotion(requests_per_second=3) as notion:
        client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url, retry=False)
        for _ in range(3):
            client.databases.retrieve(NOTION_DATABASE_ID)
        with pytest.raises(APIResponseError) as limited:
            client.databases.retrieve(NOTION_DATABASE_ID)
        assert limited.value.code == APIErrorCode.RateLimited
        assert limited.value.headers["Retry-After"] == "1"
        time.sleep(1.05)
        client.databases.retrieve(NOTION_DATABASE_ID)


def test_server_errors_and_timeouts_reach_the_caller(notion: FakeNotion) -> None:
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url, retry=False)
    notion.fail_next(r"^/v1/pages$", notion_fault(503, "service_unavailable"))
    with pytest.raises(APIResponseError) as unavailable:
        create(client, "INC-11")
    assert unavailable.value.code == APIErrorCode.ServiceUnavailable

    notion.fail_next(r"^/v1/databases/", Fault(status=502, raw=b"<html>Bad gateway</html>"))
    with pytest.raises(notion_client.errors.UnknownHTTPResponseError):
        client.databases.retrieve(NOTION_DATABASE_ID)

    impatient = notion_client.Client(
        auth=NOTION_TOKEN, base_url=notion.url, timeout_ms=200, retry=False
    )
    notion.fail_next(r"^/v1/databases/", Fault(delay=1.0))
    with pytest.raises(notion_client.errors.RequestTimeoutError):
        impatient.databases.retrieve(NOTION_DATABASE_ID)


def test_a_dropped_connection_is_a_plain_httpx_error(notion: FakeNotion) -> None:
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
    notion.fail_next(r"^/v1/databases/", Fault(drop=True))
    with pytest.raises(httpx.TransportError):
        client.databases.retrieve(NOTION_DATABASE_ID)


def test_a_second_database_with_its_own_schema(notion: FakeNotion) -> None:
    notion.add_database(
        "11111111-2222-3333-4444-555555555555",
        "66666666-7777-8888-9999-000000000000",
        {"Title": "title", "Owner": {"rich_text": {}}},
        title="Action items",
    )
    client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
    database = sync(client.databases.retrieve("11111111222233334444555555555555"))
    assert database["data_sources"] == [
        {"id": "66666666-7777-8888-9999-000000000000", "name": "Action items"}
    ]
    page = sync(
        client.pages.create(
            parent={"database_id": database["id"]},
            properties={"Title": {"title": text("Fix it")}, "Owner": {"rich_text": text("ana")}},
        )
    )
    assert notion.page_properties(page["id"]) == {"Title": "Fix it", "Owner": "ana"}
