"""``firebell doctor`` for the Notion plugin: does the post-mortems database fit the settings?"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from firebell.core import PermanentPluginError, RetryLater, hookimpl
from firebell.plugins.notion.api import NotionApi
from firebell.plugins.notion.config import NotionConfig
from firebell.plugins.notion.properties import plan_properties

__all__ = ["check", "firebell_doctor"]

#: The logger :class:`NotionApi` hands ``notion_client`` (it logs every refused request).
CLIENT_LOGGER = "firebell.plugins.notion.client"


def check(config: NotionConfig) -> list[str]:
    """What is wrong with the Notion set-up (for ``firebell doctor``); empty when all is well.

    Reads the database and its data source with a client of its own and compares the
    properties with ``[plugins.notion]``. The client's own log lines (a warning for each
    request Notion refused) are held back: the lines returned say it, once.
    """
    api = NotionApi(config)
    try:
        with _client_log_silenced():
            plan = plan_properties(config, api.schema())
    except (PermanentPluginError, RetryLater) as error:
        return [f"notion: {error}"]
    finally:
        api.close()
    problems = [f"notion: {problem}" for problem in plan.problems]
    for role in plan.missing:
        name = getattr(config.properties, role)
        problems.append(
            f"notion: the database has no property {name!r} (properties.{role}); Firebell "
            f'leaves it out. Add it, or set properties.{role} = "" to say you do not want it.'
        )
    return problems


@contextmanager
def _client_log_silenced() -> Iterator[None]:
    # Doctor runs on its own, in one thread: nothing else logs there meanwhile.
    client_log = logging.getLogger(CLIENT_LOGGER)
    was = client_log.disabled
    client_log.disabled = True
    try:
        yield
    finally:
        client_log.disabled = was


@hookimpl
def firebell_doctor(config: NotionConfig) -> list[str]:
    """Read the post-mortems database and list what does not fit the configured properties."""
    return check(config)
