"""The command layer: what people ask of an incident, checked, then appended as events.

Each command loads the incident, runs the aggregate's guards, and appends with the version it
saw. When someone else changed the incident in between, the command is run again on the new
state (and may then be refused, e.g. the second of two simultaneous resolves). An idempotency
key makes a repeated command (a Slack retry, a double click) return the first result.

Every command takes ``names``: the display names (by id) of the people it involves, as the
adapter knows them. Those the incident does not hold yet (or holds under another name) are
appended with the command as ``person.named``, so that what the incident's documents show of
people comes from the log alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from firebell.core.config import FirebellConfig
from firebell.core.errors import (
    CommandRefused,
    ConcurrencyConflict,
    IncidentNotFound,
    InvalidInput,
    NameSpaceExhausted,
)
from firebell.core.events import (
    CommanderAssigned,
    Event,
    IncidentClosed,
    IncidentCreated,
    IncidentReopened,
    IncidentResolved,
    PersonNamed,
    SeverityChanged,
    StatusUpdatePosted,
)
from firebell.core.incident import Incident
from firebell.core.naming import NameGenerator
from firebell.core.permissions import Permissions
from firebell.core.store import AppendResult, EventStore
from firebell.core.subscribers import Subscribers, as_subscribers
from firebell.core.text import MAX_DESCRIPTION, MAX_TITLE, MAX_UPDATE, clean_text, require_text

__all__ = ["MAX_PERSON_NAME", "Engine", "people_named"]

Clock = Callable[[], datetime]

_MAX_CONFLICT_RETRIES = 20
_MAX_NAME_DRAWS = 50

#: The longest name recorded for a person (a longer one is cut).
MAX_PERSON_NAME = 200

Names = Mapping[str, str]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Engine:
    """Runs incident commands against the event log.

    ``subscribers`` are the plugins that get an outbox row for every event (see
    :mod:`firebell.core.subscribers`); ``on_commit`` is
    called after each successful append (the delivery worker uses it to wake up).
    """

    def __init__(
        self,
        store: EventStore,
        settings: FirebellConfig,
        *,
        subscribers: Subscribers | Sequence[str] = (),
        clock: Clock = _utcnow,
        names: NameGenerator | None = None,
        on_commit: Callable[[AppendResult], None] | None = None,
        permissions: Permissions | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.subscribers = as_subscribers(subscribers)
        self.clock = clock
        self.names = names or NameGenerator()
        self.on_commit = on_commit
        self.permissions = permissions or Permissions(settings.permissions)

    # -- reading ---------------------------------------------------------------------------

    def get(self, incident_id: str) -> Incident:
        """The incident called ``incident_id``, or :class:`IncidentNotFound`."""
        incident = self.store.get_incident(incident_id.strip().lower().removeprefix("incd-"))
        if incident is None:
            raise IncidentNotFound(
                f"There is no incident called {incident_id!r}. `firebell list` shows them."
            )
        return incident

    # -- commands --------------------------------------------------------------------------

    def declare(
        self,
        *,
        title: str,
        reporter: str,
        description: str = "",
        severity: str | None = None,
        customer_facing: bool = False,
        source: str = "cli",
        idempotency_key: str | None = None,
        actor_groups: Sequence[str] = (),
        names: Names | None = None,
    ) -> AppendResult:
        """Declare an incident under a fresh ``YYYYMMDD-adjective-animal`` name."""
        self.permissions.check("declare", reporter, None, actor_groups)
        title = require_text(title, field="title", limit=MAX_TITLE)
        description = require_text(
            description, field="description", limit=MAX_DESCRIPTION, required=False
        )
        level = self._severity(severity or self.settings.default_severity)
        if idempotency_key is not None:
            earlier = self.store.select_command_result(idempotency_key)
            if earlier is not None:
                return earlier
        for _ in range(_MAX_NAME_DRAWS):
            now = self.clock()
            name = self.names.draw(now)
            created = IncidentCreated(
                name, title, description, level, reporter, customer_facing, source
            )
            try:
                result = self.store.insert_events(
                    name,
                    [created, *people_named(None, names)],
                    actor=reporter,
                    occurred_at=now,
                    expected_version=0,
                    idempotency_key=idempotency_key,
                    subscribers=self.subscribers,
                )
            except ConcurrencyConflict:
                continue  # the name is taken: draw another
            self._committed(result)
            return result
        raise NameSpaceExhausted(
            f"No free incident name after {_MAX_NAME_DRAWS} draws for {self.clock():%Y-%m-%d}; "
            "add words to the lists or check the random source."
        )

    def resolve(
        self,
        incident_id: str,
        *,
        actor: str,
        summary: str = "",
        idempotency_key: str | None = None,
        actor_groups: Sequence[str] = (),
        names: Names | None = None,
    ) -> AppendResult:
        """Mark the incident resolved (its channel stays open)."""
        summary = require_text(summary, field="summary", limit=MAX_UPDATE, required=False)

        def decide(incident: Incident) -> list[Event]:
            incident.check_can_resolve()
            return [IncidentResolved(summary)]

        return self._run(
            incident_id, "resolve", actor, actor_groups, decide, idempotency_key, names
        )

    def reopen(
        self,
        incident_id: str,
        *,
        actor: str,
        reason: str = "",
        idempotency_key: str | None = None,
        actor_groups: Sequence[str] = (),
        names: Names | None = None,
    ) -> AppendResult:
        """Reopen a resolved incident."""
        reason = require_text(reason, field="reason", limit=MAX_UPDATE, required=False)

        def decide(incident: Incident) -> list[Event]:
            incident.check_can_reopen()
            return [IncidentReopened(reason)]

        return self._run(incident_id, "reopen", actor, actor_groups, decide, idempotency_key, names)

    def close(
        self,
        incident_id: str,
        *,
        actor: str,
        summary: str = "",
        idempotency_key: str | None = None,
        actor_groups: Sequence[str] = (),
        names: Names | None = None,
    ) -> AppendResult:
        """Close a resolved incident after its post-mortem; it is read-only afterwards."""
        summary = require_text(summary, field="summary", limit=MAX_UPDATE, required=False)

        def decide(incident: Incident) -> list[Event]:
            incident.check_can_close()
            return [IncidentClosed(summary)]

        return self._run(incident_id, "close", actor, actor_groups, decide, idempotency_key, names)

    def change_severity(
        self,
        incident_id: str,
        severity: str,
        *,
        actor: str,
        idempotency_key: str | None = None,
        actor_groups: Sequence[str] = (),
        names: Names | None = None,
    ) -> AppendResult:
        """Raise or lower the incident's severity."""
        level = self._severity(severity)

        def decide(incident: Incident) -> list[Event]:
            incident.check_can_change_severity(level)
            return [SeverityChanged(incident.severity, level)]

        return self._run(
            incident_id, "severity", actor, actor_groups, decide, idempotency_key, names
        )

    def post_update(
        self,
        incident_id: str,
        text: str,
        *,
        actor: str,
        public: bool = False,
        idempotency_key: str | None = None,
        actor_groups: Sequence[str] = (),
        names: Names | None = None,
    ) -> AppendResult:
        """Post a free-text status update (``public`` ones may reach the status page)."""
        text = require_text(text, field="update", limit=MAX_UPDATE)

        def decide(incident: Incident) -> list[Event]:
            incident.check_not_closed("updated")
            return [StatusUpdatePosted(text, public)]

        return self._run(incident_id, "update", actor, actor_groups, decide, idempotency_key, names)

    def assign_commander(
        self,
        incident_id: str,
        commander: str,
        *,
        actor: str,
        idempotency_key: str | None = None,
        actor_groups: Sequence[str] = (),
        names: Names | None = None,
    ) -> AppendResult:
        """Make ``commander`` the incident commander."""
        commander = clean_text(commander)
        if not commander:
            raise InvalidInput("Name the new commander.", field="commander")

        def decide(incident: Incident) -> list[Event]:
            incident.check_can_assign_commander(commander)
            return [CommanderAssigned(commander, incident.commander)]

        return self._run(
            incident_id, "commander", actor, actor_groups, decide, idempotency_key, names
        )

    def append(
        self,
        incident_id: str,
        decide: Callable[[Incident], Sequence[Event]],
        *,
        actor: str,
        action: str = "update",
        idempotency_key: str | None = None,
        actor_groups: Sequence[str] = (),
        names: Names | None = None,
    ) -> AppendResult:
        """Run a command of a plugin's or adapter's own: ``decide`` checks and returns events.

        This is how events defined outside the core (timeline entries, follow-ups) are appended
        with the same conflict retries, idempotency and permissions as the built-in commands.
        """
        return self._run(incident_id, action, actor, actor_groups, decide, idempotency_key, names)

    # -- helpers ---------------------------------------------------------------------------

    def _severity(self, name: str) -> str:
        severity = self.settings.severity(name.strip())
        if severity is None:
            valid = ", ".join(s.name for s in self.settings.severities)
            raise InvalidInput(
                f"Unknown severity {name!r}; choose one of {valid}.", field="severity"
            )
        level: str = severity.name
        return level

    def _run(
        self,
        incident_id: str,
        action: str,
        actor: str,
        actor_groups: Sequence[str],
        decide: Callable[[Incident], Sequence[Event]],
        idempotency_key: str | None,
        names: Names | None = None,
    ) -> AppendResult:
        if idempotency_key is not None:
            earlier = self.store.select_command_result(idempotency_key)
            if earlier is not None:
                return earlier
        for _ in range(_MAX_CONFLICT_RETRIES):
            incident = self.get(incident_id)
            try:
                self.permissions.check(action, actor, incident, actor_groups)
                new_events = list(decide(incident))
            except CommandRefused:
                # A repeat (same key) racing its twin sees the state the twin left ("already
                # resolved"); it gets the twin's result, as a later repeat would.
                earlier = self._earlier(idempotency_key)
                if earlier is not None:
                    return earlier
                raise
            if not new_events:
                raise CommandRefused(f"Nothing to do for {incident.id}.")
            # The names first: a hook reading the history up to the command's event finds them.
            new_events = [*people_named(incident, names), *new_events]
            try:
                result = self.store.insert_events(
                    incident.id,
                    new_events,
                    actor=actor,
                    occurred_at=self.clock(),
                    expected_version=incident.version,
                    idempotency_key=idempotency_key,
                    subscribers=self.subscribers,
                )
            except ConcurrencyConflict:
                # Someone else changed it first: decide again on the state they left.
                random_pause()
                continue
            self._committed(result)
            return result
        raise ConcurrencyConflict(
            f"{incident_id} kept changing under this command ({_MAX_CONFLICT_RETRIES} tries); "
            "try again."
        )

    def _earlier(self, idempotency_key: str | None) -> AppendResult | None:
        if idempotency_key is None:
            return None
        return self.store.select_command_result(idempotency_key)

    def _committed(self, result: AppendResult) -> None:
        if self.on_commit is not None and not result.duplicate:
            self.on_commit(result)


def people_named(incident: Incident | None, names: Names | None) -> list[PersonNamed]:
    """``person.named`` for each of ``names`` (id -> name) that ``incident`` does not hold yet.

    A name is cleaned and put on one line; an empty one, or one that is only the id, is left out.
    """
    named = []
    for person, given in (names or {}).items():
        name = " ".join(clean_text(given).split())[:MAX_PERSON_NAME]
        if not person or not name or name == person:
            continue
        if incident is not None and incident.person_name(person) == name:
            continue
        named.append(PersonNamed(person, name))
    return named


def random_pause() -> None:
    """A few milliseconds of jitter so that retrying writers do not collide again in step."""
    import time

    time.sleep(random.uniform(0.0, 0.005))
