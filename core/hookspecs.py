"""Every hook a Firebell plugin can implement, in one module.

Hooks take keyword arguments and an implementation may accept any subset of them, so new
parameters can be added without breaking a plugin; parameters are never renamed or removed.
Each plugin is called on its own (one failing plugin never silences another), with its own
``config``. Hook names follow the event names: ``incident.created`` is delivered to
:func:`firebell_incident_created`, and every event also to :func:`firebell_event`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

if TYPE_CHECKING:
    from firebell.core.config import FirebellConfig
    from firebell.core.events import RecordedEvent
    from firebell.core.incident import Incident

__all__ = ["HOOKSPEC_VERSION", "Link", "LinkNow", "PluginSpec", "hookimpl", "hookspec"]

#: Bumped when a hook is added; a plugin may check it to use newer hooks when present.
#: 1: the setup and incident-event hooks. 2: ``firebell_doctor``. 3: the record hooks
#: (timeline entries, follow-ups, reminders). 4: the ``link_now`` parameter. 5:
#: ``firebell_person_named``. 6: ``firebell_check_settings``.
HOOKSPEC_VERSION = 7

hookspec = pluggy.HookspecMarker("firebell")
hookimpl = pluggy.HookimplMarker("firebell")


@attrs.frozen
class PluginSpec:
    """What a plugin tells the host about itself.

    ``config_class`` is an attrs class built from the plugin's ``[plugins.<name>]`` table (unknown
    keys and wrong types are refused, naming the key); ``after`` names plugins whose delivery of
    an event must be done before this plugin gets it (only those enabled count), so that, e.g.,
    the incident channel is in ``incident.resources`` when the pager runs. A delivery that
    recorded its links with ``link_now`` lets them go at that moment, and one that failed once
    no longer holds them back.
    """

    config_class: type | None = None
    after: tuple[str, ...] = ()
    description: str = ""


@attrs.frozen
class Link:
    """Something a hook created outside Firebell; the engine records it as ``ResourceLinked``.

    ``kind`` is one of ``channel``, ``page``, ``document``, ``status-incident`` or a plugin's own.
    """

    kind: str
    external_id: str
    url: str | None = None
    title: str | None = None


LinkResult = Link | Sequence[Link] | None
#: ``link_now(*links)``: record links before the hook returns (see the parameters below).
LinkNow = Callable[..., None]

# ---------------------------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def firebell_plugin_spec() -> PluginSpec | None:
    """Describe the plugin: its config class and ordering (called once when the host starts).

    Return a :class:`PluginSpec`, or None for a plugin without settings. Every plugin may
    implement it; it is called for each plugin on its own.
    """


@hookspec
def firebell_check_settings(config: Any, settings: FirebellConfig) -> Sequence[str] | None:
    """Check the plugin's settings against Firebell's own when ``plugins.toml`` is loaded.

    Called once per enabled plugin whenever Firebell loads its configuration (every command,
    ``firebell run``, ``firebell doctor``), after ``config`` was built from the plugin's table;
    ``settings`` is the whole FirebellConfig. For what the table alone cannot show and no
    service needs asking: a severity name that is not one of ``settings.severities``
    (:meth:`FirebellConfig.severity_problems` words it). Return one line per problem, starting
    with the key (``"severities: 'SEV-1' is not one of the severities (SEV0, SEV1, SEV2)"``);
    Firebell then refuses to start, naming the file and the table. Never call a service here.
    """


# ---------------------------------------------------------------------------------------------
# Incident events. Common parameters (accept any subset):
#
#   event:    the RecordedEvent being delivered (event.data is the payload).
#   incident: the incident's current state when delivered, with its linked resources (it may be
#             ahead of the event when later events exist).
#   config:   this plugin's config object (an instance of PluginSpec.config_class) or None.
#   history:  every event of this incident so far, oldest first (loaded only when asked for).
#   settings: the whole FirebellConfig (severities, database URL without secrets, plugins).
#   attempt:  1 for the first delivery of this event to this plugin, 2 for the first retry...
#   link_now: call link_now(Link, ...) to record links at once, before the hook returns: the
#             plugins that wait for this one (``after``) start on the event then, while the
#             hook goes on (the Slack plugin links the channel, then sets it up). Returning the
#             same links again is harmless; they are recorded once.
#
# Return Link objects for what the hook created outside, or None. Raise RetryLater for a failure
# that may pass and PermanentPluginError for one that cannot; any other exception is retried.
# Raise NothingToDo(reason) when the event needs nothing any more (the incident was resolved
# before it could be paged): the delivery is done, and no "works again" is said for it.
# A delivery may be repeated (after a crash, a timeout): a hook must not create a second thing
# outside when called again with the same event; look in incident.resources first or use the
# service's own deduplication.
# ---------------------------------------------------------------------------------------------


@hookspec
def firebell_incident_created(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called once an incident is declared (``incident.created``): open channels, page, write docs."""


@hookspec
def firebell_incident_resolved(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when an incident is resolved (``incident.resolved``); the channel stays open."""


@hookspec
def firebell_incident_reopened(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when a resolved incident is reopened (``incident.reopened``)."""


@hookspec
def firebell_incident_closed(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when an incident is closed after its post-mortem (``incident.closed``)."""


@hookspec
def firebell_incident_severity_changed(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when the severity changes (``incident.severity_changed``; ``event.data.previous``)."""


@hookspec
def firebell_incident_status_update_posted(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called for a status update (``incident.status_update_posted``; ``event.data.public``)."""


@hookspec
def firebell_incident_commander_assigned(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when someone becomes commander (``incident.commander_assigned``)."""


@hookspec
def firebell_incident_resource_linked(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when any plugin linked a resource (``incident.resource_linked``), own ones included.

    Use it to point to what others created as it becomes known (e.g. bookmark the post-mortem).
    """


@hookspec
def firebell_incident_integration_failed(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called once when a plugin starts failing for this incident (``incident.integration_failed``).

    ``event.data.plugin`` failed on ``event.data.event_type`` with ``event.data.error``; tell
    the responders (e.g. in the incident channel).
    """


@hookspec
def firebell_incident_integration_recovered(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when a failing plugin succeeded after all (``incident.integration_recovered``)."""


@hookspec
def firebell_incident_integration_skipped(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when a failing plugin has nothing left to do for the incident
    (``incident.integration_skipped``: switched off when it ended, or its hook raised
    ``NothingToDo``)."""


@hookspec
def firebell_event(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called for every event, after the event's own hook: for audit logs, exports, mirrors."""


# ---------------------------------------------------------------------------------------------
# The incident's record: timeline entries, follow-ups, reminders (core/timeline_events.py).
# Same parameters, return value and redelivery rule as the incident events above.
# ---------------------------------------------------------------------------------------------


@hookspec
def firebell_timeline_entry_added(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when a message or note joins the timeline (``timeline.entry_added``).

    ``event.data``: ``entry_id``, ``author``, ``text``, ``source`` (``pin``, ``reaction`` or
    ``note``), ``posted_at``, and for a Slack message ``channel_id``, ``message_ts`` and
    ``permalink``. ``event.actor`` marked it. Doc stores may refresh their timeline.
    """


@hookspec
def firebell_timeline_entry_removed(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when an entry leaves the timeline (``timeline.entry_removed``; ``entry_id``)."""


@hookspec
def firebell_followup_added(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when a follow-up is recorded (``followup.added``).

    ``event.data``: ``follow_up_id`` (1, 2, … within the incident), ``text`` and ``owner`` (or
    None). A tracker plugin may open a ticket here and return it as a ``Link``. It may come
    after ``incident.closed``: follow-ups stay open to change after the close.
    """


@hookspec
def firebell_followup_done(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when a follow-up is done (``followup.done``; ``event.data.follow_up_id``).

    It may come after ``incident.closed`` (the tasks are done in the weeks after the meeting):
    the incident's channel is then archived.
    """


@hookspec
def firebell_reminder_sent(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when a reminder falls due (``reminder.sent``): tell the people.

    ``event.data.kind`` is ``update`` (no status update for a while), ``commander`` (no
    commander: ask ``event.data.recipient``, the reporter, to take or hand out the role) or
    ``postmortem`` (fill in the post-mortem, ``incident.resource("document")``, and schedule
    its meeting); ``event.data.due_at`` is when it fell due.
    """


@hookspec
def firebell_person_named(
    event: RecordedEvent,
    incident: Incident,
    config: Any,
    history: Sequence[RecordedEvent],
    settings: FirebellConfig,
    attempt: int,
    link_now: LinkNow,
) -> LinkResult:
    """Called when Firebell learns what a person of the incident is called (``person.named``).

    ``event.data``: ``person`` (e.g. a Slack user id) and ``name``; ``incident.person_name(id)``
    gives the latest. A command records the names of the people it involves with its own event,
    and again when a better one is known (Slack's real name after the username). Documents that
    show people by name may refresh them.
    """


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------


@hookspec
def firebell_doctor(config: Any, settings: FirebellConfig) -> Sequence[str] | None:
    """Check the plugin's settings against the service it talks to (for ``firebell doctor``).

    Called only by ``firebell doctor``, once per enabled plugin whose table was valid, never
    during delivery. ``config`` is the plugin's config object, ``settings`` the whole
    FirebellConfig. Make the cheapest authenticated read (never a write) and return one line
    per problem, each saying what to fix; an empty list or None means all is well. An exception
    is reported as a failed check. Every plugin that talks to a service should implement it.
    """
