"""Fixtures shared by the timeline tests: the fake Slack the adapter's tests drive, and the
Notion post-mortem's (each module brings its own ``clock``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from firebell.core import Firebell
from postmortem_support import notion_firebell
from timeline_support import Clock, make_fake_slack

from firebell.testing.fake_notion import FakeNotion
from firebell.testing.fake_slack import FakeSlack
from firebell.testing.pytest_plugin import MakeFirebell


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack answering as timeline_support sets it up (modules may have their own)."""
    fake = make_fake_slack()
    yield fake
    fake.stop()


@pytest.fixture
def notion() -> Iterator[FakeNotion]:
    """A fake Notion for the post-mortem plugin."""
    with FakeNotion() as fake:
        yield fake


@pytest.fixture
def with_notion(make_firebell: MakeFirebell, notion: FakeNotion, clock: Clock) -> Firebell:
    """Firebell with the Notion plugin against ``notion``, on the module's clock."""
    return notion_firebell(make_firebell, notion, clock)
