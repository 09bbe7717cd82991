"""The console on a log of 100,000 incidents: the pages work and count right (timing is bench's
business, not a test's: docs/web.md has the figures)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from firebell.adapters.web import PAGE_SIZE, create_app
from firebell.core import Firebell
from firebell.core.config import parse_config
from firebell.core.runtime import open_firebell
from starlette.testclient import TestClient
from web_support import local_client

from firebell.testing.bulk_incidents import bulk_name, fill_incidents

COUNT = 100_000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Firebell, TestClient]]:
    """A Firebell whose log holds COUNT incidents, and a local client of its console."""
    folder: Path = tmp_path_factory.mktemp("big")
    settings = parse_config(
        {"firebell": {"database_url": f"sqlite:///{folder / 'firebell.db'}"}},
        path=None,
        environ={},
    )
    firebell = open_firebell(settings, entry_points=False)
    fill_incidents(firebell.store, COUNT)
    try:
        with local_client(create_app(firebell)) as client:
            yield firebell, client
    finally:
        firebell.close()


def _names(html: str) -> list[str]:
    return re.findall(r'<a class="name" href="/incidents/([^"]+)">', html)


def _count(html: str) -> str:
    match = re.search(r'<p class="count" id="count">(.*?)</p>', html, re.S)
    assert match
    return " ".join(match.group(1).split()).replace("\N{EN DASH}", "-")


def test_the_first_page_shows_the_newest_fifty_of_all(big: tuple[Firebell, TestClient]) -> None:
    page = big[1].get("/incidents")

    assert page.status_code == 200
    assert _count(page.text) == f"1-{PAGE_SIZE} of 100,000 incidents"
    assert _names(page.text) == [bulk_name(COUNT - 1 - i) for i in range(PAGE_SIZE)]
    assert "Page 1 of 2,000" in page.text


def test_a_deep_page_and_the_last_one(big: tuple[Firebell, TestClient]) -> None:
    middle = big[1].get("/incidents", params={"page": "1234"}).text
    last = big[1].get("/incidents", params={"page": "2000"}).text

    offset = 1233 * PAGE_SIZE
    assert _names(middle) == [bulk_name(COUNT - 1 - offset - i) for i in range(PAGE_SIZE)]
    assert _names(last)[-1] == bulk_name(0)
    assert _count(last) == "99,951-100,000 of 100,000 incidents"


def test_filters_count_right_at_scale(big: tuple[Firebell, TestClient]) -> None:
    client = big[1]

    resolved = client.get("/incidents", params={"state": "resolved"}).text
    sev0 = client.get("/incidents", params={"severity": "SEV0"}).text
    both = client.get("/incidents", params={"severity": "SEV1", "state": "open", "page": "3"})

    # Every fourth incident (index % 4 == 0) was resolved; severities go SEV0, SEV1, SEV2 in turn.
    assert _count(resolved) == f"1-{PAGE_SIZE} of 25,000 incidents matching"
    assert _names(resolved)[0] == bulk_name(99_996)
    assert _count(sev0) == f"1-{PAGE_SIZE} of 33,334 incidents matching"
    open_sev1 = sum(1 for i in range(COUNT) if i % 3 == 1 and i % 4 != 0)
    assert _count(both.text) == f"101-150 of {open_sev1:,} incidents matching"


def test_search_at_scale(big: tuple[Firebell, TestClient]) -> None:
    client = big[1]

    one = client.get("/incidents", params={"q": "number 12345"}).text
    by_name = client.get("/incidents", params={"q": "bulk-09999"}).text
    none = client.get("/incidents", params={"q": "no such words"}).text

    assert _names(one) == [bulk_name(12345)]
    assert _count(by_name) == "1-10 of 10 incidents matching"  # 099990 … 099999
    assert _count(none) == "No incidents matching"


def test_a_search_matching_them_all_counts_to_the_limit(big: tuple[Firebell, TestClient]) -> None:
    client = big[1]

    first = client.get("/incidents", params={"q": "incident"}).text
    deep = client.get("/incidents", params={"q": "incident", "page": "300"}).text

    # Every title matches; the count stops past 10,000 (the default search_count_limit).
    assert _count(first) == f"1-{PAGE_SIZE} of 10,000+ incidents matching"
    assert _names(first) == [bulk_name(COUNT - 1 - i) for i in range(PAGE_SIZE)]
    assert "Page 1 of 200+" in first and "Last »" not in first
    # A page past the limit is still found, and counted past itself.
    assert _count(deep) == "14,951-15,000 of 15,000+ incidents matching"
    assert _names(deep)[0] == bulk_name(COUNT - 1 - 299 * PAGE_SIZE)
    assert 'href="/incidents?q=incident&amp;page=301">Next →</a>' in deep


def test_an_incident_page_and_the_metrics_at_scale(big: tuple[Firebell, TestClient]) -> None:
    client = big[1]

    page = client.get(f"/incidents/{bulk_name(40_000)}")
    metrics = client.get("/metrics")

    assert page.status_code == 200 and 'id="state">resolved<' in page.text
    assert "Declared as SEV1: Bulk incident number 40000" in page.text
    assert metrics.status_code == 200
