"""What a new FakeNotion starts with: the API version it speaks, the token it accepts, the
post-mortem database and its schema, and the integration's bot user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOTION_VERSION = "2025-09-03"
"""The only ``Notion-Version`` the fake speaks (notion-client 3.x sends it by default)."""

NOTION_TOKEN = "ntn_firebell_fake_notion_token"
"""The integration token the fake accepts unless told otherwise."""

NOTION_DATABASE_ID = "0442a94f-7f60-45fe-9cad-3d06bb956d4d"
"""The pre-created post-mortem database."""

NOTION_DATA_SOURCE_ID = "967c8594-e690-4082-af5c-c48a237fc657"
"""The single data source of :data:`NOTION_DATABASE_ID`."""

POSTMORTEM_SCHEMA: Mapping[str, Mapping[str, Any]] = {
    "Name": {"title": {}},
    "Title": {"rich_text": {}},
    "Severity": {"select": {"options": ["SEV1", "SEV2", "SEV3", "SEV4"]}},
    "Status": {"status": {"options": ["Open", "Resolved", "Closed"]}},
    "Slack channel": {"url": {}},
    "PagerDuty": {"url": {}},
    "Declared at": {"date": {}},
    "Duration (minutes)": {"number": {"format": "number"}},
    "Incident": {"rich_text": {}},
}
"""The default database's properties: the post-mortem schema Firebell's Notion plugin expects."""

_PARENT_PAGE_ID = "59d04046-7397-4b5e-ac65-7e2905fefb16"
_BOT_USER = {"object": "user", "id": "3c0f1d2e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"}
