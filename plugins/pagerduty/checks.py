"""Checking ``[plugins.pagerduty]`` against PagerDuty itself, for ``firebell doctor``.

:func:`check` reads (never writes): the service, the escalation policy and the requester in REST
mode; the routing key's shape in events mode (the Events API has no read call, so only an event
would prove the key). It returns what is wrong, in words a person can act on.
"""

from __future__ import annotations

import re

import pagerduty
from firebell.core.config import FirebellConfig
from firebell.plugins.pagerduty.client import failure, rest_client
from firebell.plugins.pagerduty.config import PagerDutyConfig

__all__ = ["check", "severity_problems"]


def check(config: PagerDutyConfig) -> list[str]:
    """What is wrong with ``config`` (an empty list when PagerDuty accepts it all).

    Severity names that Firebell does not have are refused when the settings are loaded
    (:func:`severity_problems`), before any check of PagerDuty.
    """
    problems: list[str] = []
    if config.mode == "events":
        assert config.routing_key is not None
        if not re.fullmatch(r"[A-Za-z0-9]{32}", config.routing_key.reveal()):
            problems.append(
                f"{config.routing_key.env} does not look like an Events API v2 routing key "
                "(32 letters and digits): copy the Integration Key of the service's Events API "
                "v2 integration"
            )
        return problems
    lookups = [(f"services/{config.service_id}", "service_id")]
    if config.escalation_policy_id is not None:
        lookups.append(
            (f"escalation_policies/{config.escalation_policy_id}", "escalation_policy_id")
        )
    with rest_client(config) as client:
        try:
            for path, key in lookups:
                _lookup(client, config, path, key, problems)
            _check_requester(client, config, problems)
        except _Unreachable as stop:
            # A refused key or an outage makes every other lookup fail the same way.
            problems.append(str(stop))
    return problems


class _Unreachable(Exception):
    """PagerDuty refused the key or could not be reached: no point in asking further."""


def _lookup(
    client: pagerduty.RestApiV2Client,
    config: PagerDutyConfig,
    path: str,
    key: str,
    problems: list[str],
) -> None:
    try:
        client.rget(path)
    except pagerduty.Error as error:
        if error.response is None or error.response.status_code != 404:
            raise _Unreachable(failure(error, doing=f"reading {path}", config=config)) from error
        problems.append(
            f"{key} = {getattr(config, key)!r} was not found in PagerDuty; copy the id from the "
            "address of its page in PagerDuty"
        )


def _check_requester(
    client: pagerduty.RestApiV2Client, config: PagerDutyConfig, problems: list[str]
) -> None:
    email = (config.requester_email or "").lower()
    try:
        users = client.list_all("users", params={"query": email})
    except pagerduty.Error as error:
        raise _Unreachable(
            failure(error, doing="looking up requester_email", config=config)
        ) from error
    if not any(isinstance(u, dict) and str(u.get("email", "")).lower() == email for u in users):
        problems.append(
            f"requester_email = {config.requester_email!r} is not a PagerDuty user; give the "
            "email of a user who may open incidents on the service"
        )


def severity_problems(config: PagerDutyConfig, settings: FirebellConfig) -> list[str]:
    """Names in ``severities`` and ``urgency`` that are not Firebell severities: they would
    never match, and nobody would be paged (the plugin's ``firebell_check_settings``)."""
    return [
        *settings.severity_problems("severities", config.severities or ()),
        *settings.severity_problems("urgency", config.urgency),
    ]
