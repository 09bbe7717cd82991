"""What Slack calls people, for the names the incident's log records (``person.named``).

The listeners pass the names of the people a command involves (who ran it, the new commander,
whose message was marked, a follow-up's owner) to the engine's ``names=``; the engine records
those the incident does not hold yet, so that the post-mortems show names without asking Slack
when they are written. A name comes from ``users.info`` (the real name, else the display name,
else the username), cached for ``ttl`` seconds and for at most ``max_size`` people.

A name is never worth a failed, slow or reordered command: a command is recorded at once with
the names already known (the cache, else the username the request carries: ``look_up=False``),
and the lookup runs after it (:meth:`PeopleDirectory.record_names`), appending ``person.named``
when it brings a better name than the incident holds. Lookups use a client of their own that
gives up after ``timeout`` seconds and retries nothing (the shared client waits out a rate limit
for up to 30 seconds); a failure is remembered for ``failure_ttl`` seconds, so that Slack being
down costs one timeout a minute, not one a command, and the person stays named as the request
named them (its ``user_name``), or by id.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from firebell.core.engine import Engine, people_named
from firebell.core.errors import CommandRefused
from firebell.core.events import Event
from firebell.core.incident import Incident, IncidentState
from firebell.plugins.slack.config import is_user_id
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

__all__ = ["DEFAULT_TTL", "FAILURE_TTL", "LOOKUP_TIMEOUT", "MAX_PEOPLE", "PeopleDirectory"]

log = logging.getLogger("firebell.slack")

DEFAULT_TTL = 3600.0
"""Seconds a name from ``users.info`` is trusted before it is asked for again."""

FAILURE_TTL = 60.0
"""Seconds a failed lookup is remembered (the person goes unnamed meanwhile)."""

MAX_PEOPLE = 10_000
"""People cached at most; the least recently used go first."""

LOOKUP_TIMEOUT = 2
"""Seconds one ``users.info`` call may take."""


def user_name(user: Mapping[str, Any]) -> str | None:
    """The name to show for a ``users.info`` user: real name, display name, or username."""
    profile = user.get("profile")
    profile = profile if isinstance(profile, Mapping) else {}
    for candidate in (
        profile.get("real_name"),
        user.get("real_name"),
        profile.get("display_name"),
        user.get("name"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


class PeopleDirectory:
    """Looks up (and caches) what Slack users are called."""

    def __init__(
        self,
        client: WebClient,
        *,
        ttl: float = DEFAULT_TTL,
        failure_ttl: float = FAILURE_TTL,
        max_size: int = MAX_PEOPLE,
        timeout: int = LOOKUP_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = WebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=timeout,
            ssl=client.ssl,
            proxy=client.proxy,
            retry_handlers=[],
        )
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self.max_size = max_size
        self.clock = clock
        # user id -> (looked up at, name or None for a failed lookup)
        self._cache: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._warned = False

    def cached(self, user_id: str) -> tuple[bool, str | None]:
        """Whether a lookup of ``user_id`` is fresh in the cache, and its name (None: failed)."""
        now = self.clock()
        with self._lock:
            found = self._cache.get(user_id)
            if found is None:
                return False, None
            at, name = found
            if now - at >= (self.ttl if name is not None else self.failure_ttl):
                del self._cache[user_id]
                return False, None
            self._cache.move_to_end(user_id)
            return True, name

    def name(self, user_id: str) -> str | None:
        """What Slack calls ``user_id``, from the cache or ``users.info``; None when unknown."""
        fresh, name = self.cached(user_id)
        if fresh:
            return name
        name = self._fetch(user_id)
        with self._lock:
            self._cache[user_id] = (self.clock(), name)
            self._cache.move_to_end(user_id)
            while len(self._cache) > self.max_size:
                self._cache.popitem(last=False)
        return name

    def names(
        self,
        people: Iterable[str | None],
        *,
        incident: Incident | None = None,
        handles: Mapping[str, str] | None = None,
        look_up: bool = True,
    ) -> dict[str, str]:
        """The names of the Slack users among ``people``, for a command's ``names=``.

        Anything that is not a user id (a bot's id, plain text, None) is skipped. With
        ``look_up=False`` only the cache answers. A user Slack gave no name for is named by
        ``handles`` (the username a request carries), unless ``incident`` already holds a name
        for them (a username must not replace a real name).
        """
        found: dict[str, str] = {}
        for person in people:
            if not person or not is_user_id(person) or person in found:
                continue
            name = self.name(person) if look_up else self.cached(person)[1]
            if name is None and (incident is None or incident.person_name(person) == person):
                name = (handles or {}).get(person) or None
            if name is not None:
                found[person] = name
        return found

    def record_names(
        self,
        engine: Engine,
        incident_id: str,
        people: Iterable[str | None],
        *,
        actor: str,
        handles: Mapping[str, str] | None = None,
    ) -> None:
        """Look ``people`` up and name them in the incident where the lookup knows better.

        Run after a command was recorded with the names known then: a person the incident holds
        only by id or by username (``handles``) gets ``person.named`` with what Slack calls them
        (appended by ``actor``, once per name). A name the incident holds otherwise (a real name)
        stays, and a closed incident is left as it is. A failure is only logged.
        """
        seen: set[str] = set()
        for person in people:
            if not person or not is_user_id(person) or person in seen:
                continue
            seen.add(person)
            try:
                self._record_name(engine, incident_id, person, actor, (handles or {}).get(person))
            except Exception as error:
                # The command is recorded and answered; only the better name is missing.
                log.warning("could not name %s in %s: %s", person, incident_id, error)

    def _record_name(
        self, engine: Engine, incident_id: str, person: str, actor: str, handle: str | None
    ) -> None:
        name = self.name(person)
        if name is None:
            return

        def decide(incident: Incident) -> list[Event]:
            if incident.state is IncidentState.CLOSED:
                return []
            if incident.person_name(person) not in {person, handle}:
                return []  # a real name is recorded: the next command brings any change
            return list(people_named(incident, {person: name}))

        if not decide(engine.get(incident_id)):
            return
        # Refused when named meanwhile (another command, another process): nothing to do.
        with contextlib.suppress(CommandRefused):
            engine.append(
                incident_id,
                decide,
                actor=actor,
                action="name",
                idempotency_key=f"name:{incident_id}:{person}:{name}",
            )

    def _fetch(self, user_id: str) -> str | None:
        try:
            answer = self.client.users_info(user=user_id)
        except SlackApiError as error:
            code = error.response.get("error")
            if code == "missing_scope" and not self._warned:
                self._warned = True
                log.warning(
                    "cannot read people's names (users.info: missing_scope); post-mortems show "
                    "Slack user ids. Add users:read to the Slack app (slack-app-manifest.yaml) "
                    "and reinstall it."
                )
            else:
                log.info("users.info %s: %s; the person is shown by id", user_id, code)
            return None
        except Exception as error:
            # Whatever went wrong, the command goes on without the name.
            log.warning("users.info %s failed (%s: %s)", user_id, type(error).__name__, error)
            return None
        user = answer.get("user")
        return user_name(user) if isinstance(user, Mapping) else None
