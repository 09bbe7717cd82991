"""Fixtures shared by the timeline tests that drive the Slack adapter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from timeline_support import make_fake_slack

from firebell.testing.fake_slack import FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack answering as timeline_support sets it up (modules may have their own)."""
    fake = make_fake_slack()
    yield fake
    fake.stop()
