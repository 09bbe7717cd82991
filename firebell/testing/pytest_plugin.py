"""Pytest fixtures for Firebell and its plugins (registered through the ``pytest11`` entry point).

Installing Firebell makes these fixtures available in every pytest run, so a third-party plugin's
tests need no conftest to use them:

``make_firebell``
    A factory opening a Firebell on a temporary SQLite log with the settings you give (as the
    ``plugins.toml`` document would hold them); every Firebell made is closed after the test.
``firebell``
    A Firebell made from the ``firebell_document`` and ``firebell_environ`` fixtures (override
    them in your conftest to enable your plugin), with immediate retries.
``incident_lifecycle``
    An :class:`~firebell.testing.lifecycle.IncidentLifecycle` on ``firebell``: declare, update,
    resolve, close... each followed by a delivery round.
``fake_slack``
    A :class:`~firebell.testing.fake_slack.FakeSlack` workspace served on a local port; enable the
    Slack plugin against it with :func:`slack_plugin_table` and :func:`slack_environ`.

The contract check is a plain function: :func:`firebell.testing.check_plugin_contract`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from firebell.core.config import parse_config
from firebell.core.runtime import Firebell, open_firebell
from firebell.testing.fake_slack import FakeSlack
from firebell.testing.lifecycle import IncidentLifecycle

__all__ = [
    "MakeFirebell",
    "fake_slack",
    "firebell",
    "firebell_document",
    "firebell_environ",
    "incident_lifecycle",
    "make_firebell",
    "slack_environ",
    "slack_plugin_table",
]

MakeFirebell = Callable[..., Firebell]


@pytest.fixture
def make_firebell(tmp_path: Path) -> Iterator[MakeFirebell]:
    """A factory: ``make_firebell(document, extra_plugins=..., environ=..., **open_options)``.

    ``document`` is the parsed ``plugins.toml`` (``{"plugins": {"console": {}}}``); its database
    defaults to a fresh SQLite file under ``tmp_path``. ``open_options`` go to
    :func:`firebell.core.open_firebell` (``retry_base=0.0`` retries failures at once, ``clock=``
    fixes the time). Every Firebell made is closed at the end.
    """
    opened: list[Firebell] = []

    def make(
        document: Mapping[str, Any] | None = None,
        *,
        extra_plugins: Mapping[str, object] | None = None,
        environ: Mapping[str, str] | None = None,
        entry_points: bool = True,
        **options: Any,
    ) -> Firebell:
        raw = {key: dict(value) for key, value in (document or {}).items()}
        engine_table = raw.setdefault("firebell", {})
        engine_table.setdefault("database_url", f"sqlite:///{tmp_path / 'firebell.db'}")
        settings = parse_config(raw, path=tmp_path / "plugins.toml", environ=environ or {})
        firebell = open_firebell(
            settings, extra_plugins=extra_plugins, entry_points=entry_points, **options
        )
        opened.append(firebell)
        return firebell

    yield make
    for firebell in opened:
        firebell.close()


@pytest.fixture
def firebell_document() -> dict[str, Any]:
    """The ``plugins.toml`` document the ``firebell`` fixture is made from (none enabled).

    Override it in your tests or conftest::

        @pytest.fixture
        def firebell_document(tmp_path):
            return {"plugins": {"example": {"path": str(tmp_path / "audit.jsonl")}}}
    """
    return {}


@pytest.fixture
def firebell_environ() -> dict[str, str]:
    """The environment the ``firebell`` fixture's secrets (``{ env = "NAME" }``) come from."""
    return {}


@pytest.fixture
def firebell(
    make_firebell: MakeFirebell,
    firebell_document: Mapping[str, Any],
    firebell_environ: Mapping[str, str],
) -> Firebell:
    """A Firebell on a temporary SQLite log with the plugins ``firebell_document`` enables.

    Installed plugins are found through their entry points, as in production; a failed delivery
    is due again at once (``retry_base=0.0``) so one delivery round retries it.
    """
    return make_firebell(firebell_document, environ=firebell_environ, retry_base=0.0)


@pytest.fixture
def incident_lifecycle(firebell: Firebell) -> IncidentLifecycle:
    """An incident driven through the ``firebell`` fixture, delivering after each step.

    ``incident_lifecycle.declare()``, ``.update()``, ``.resolve()``, ``.close()`` (or ``.run()``
    for every command); with ``make_firebell`` use ``IncidentLifecycle(firebell)`` directly.
    """
    return IncidentLifecycle(firebell)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack workspace (the real Web API's answers, rate limits and errors) on a local port.

    It accepts the token :data:`firebell.testing.fake_slack.BOT_TOKEN` (``fake_slack.token``);
    ``fake_slack.channels`` and ``fake_slack.calls`` show what the plugins did.
    """
    with FakeSlack() as fake:
        yield fake


def slack_plugin_table(fake: FakeSlack, **options: Any) -> dict[str, Any]:
    """A ``[plugins.slack]`` table pointing the Slack plugin at ``fake`` (plus ``options``).

    Its token comes from ``SLACK_BOT_TOKEN``: pass :func:`slack_environ` as the environment.
    """
    return {"bot_token": {"env": "SLACK_BOT_TOKEN"}, "api_url": fake.url + "/api/", **options}


def slack_environ(fake: FakeSlack) -> dict[str, str]:
    """The environment holding ``fake``'s bot token as ``SLACK_BOT_TOKEN``."""
    return {"SLACK_BOT_TOKEN": fake.token}
