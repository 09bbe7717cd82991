"""The ``[firebell.web]`` table: where the console listens, who may see it, whether it may act.

The core keeps the table as written (secrets already resolved); this module checks it, naming
the file, the table and the key, and saying what would be valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from firebell.core.config import FirebellConfig
from firebell.core.errors import ConfigError
from firebell.core.secrets import Secret

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_SEARCH_COUNT_LIMIT",
    "WebSettings",
    "web_settings",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_SEARCH_COUNT_LIMIT = 10_000


@attrs.frozen
class WebSettings:
    """The web console's settings (``[firebell.web]`` in ``plugins.toml``).

    ``enabled`` makes ``firebell run`` serve the console on ``port`` beside the Slack bot
    (``firebell web`` serves it whatever ``enabled`` says). ``token`` is the shared secret every
    client that is not on this machine must present; without one only local clients get in.
    ``allow_actions`` lets the console declare and resolve incidents. ``user_header`` names the
    header an authenticating proxy (oauth2-proxy) puts the user in; it is believed only on
    requests that also carry the token, which the proxy adds. ``search_count_limit`` is how
    many matches the incident list counts for a search before it says "10,000+" instead
    (counting every match of a search that matches most incidents reads the whole table).
    """

    enabled: bool = False
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: Secret | None = None
    allow_actions: bool = False
    user_header: str | None = None
    search_count_limit: int = DEFAULT_SEARCH_COUNT_LIMIT


_KEYS = ("enabled", "host", "port", "token", "allow_actions", "user_header", "search_count_limit")


def web_settings(settings: FirebellConfig) -> WebSettings:
    """The checked ``[firebell.web]`` table of ``settings``, or :class:`ConfigError`."""
    table: Mapping[str, Any] = settings.web
    where = f"{settings.source}: [firebell.web]"
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"{where} has unknown key {unknown[0]!r}. Valid keys: {', '.join(_KEYS)}."
        )
    for key in ("enabled", "allow_actions"):
        if key in table and not isinstance(table[key], bool):
            raise ConfigError(f"{where} {key} must be true or false, got {table[key]!r}.")
    host = table.get("host", DEFAULT_HOST)
    if not isinstance(host, str) or not host.strip():
        raise ConfigError(f'{where} host must be an address such as "127.0.0.1", got {host!r}.')
    port = table.get("port", DEFAULT_PORT)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ConfigError(f"{where} port must be a whole number from 0 to 65535, got {port!r}.")
    token = table.get("token")
    if token is not None and not isinstance(token, Secret):
        raise ConfigError(
            f'{where} token is a secret: write token = {{ env = "FIREBELL_WEB_TOKEN" }} and '
            "export the value in that variable, not in the file."
        )
    if isinstance(token, Secret) and len(token.reveal()) < 16:
        raise ConfigError(
            f"{where} token (from {token.env}) is too short to guess-proof: use at least 16 "
            "random characters, e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`."
        )
    user_header = table.get("user_header")
    if user_header is not None and (
        not isinstance(user_header, str) or not user_header.replace("-", "").isalnum()
    ):
        raise ConfigError(
            f'{where} user_header must be a header name such as "X-Forwarded-Email", '
            f"got {user_header!r}."
        )
    limit = table.get("search_count_limit", DEFAULT_SEARCH_COUNT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ConfigError(
            f"{where} search_count_limit must be a whole number of at least 1 (default "
            f"{DEFAULT_SEARCH_COUNT_LIMIT}), got {limit!r}."
        )
    return WebSettings(
        enabled=table.get("enabled", False),
        host=host.strip(),
        port=port,
        token=token,
        allow_actions=table.get("allow_actions", False),
        user_header=user_header,
        search_count_limit=limit,
    )
