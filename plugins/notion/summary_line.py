"""The page's summary line (section 1): kept to the incident as it is now when the severity
changes, a commander is assigned, or the reporter's or commander's name is learned; a severity
change also sets the Severity property. A line people rewrote is theirs and stays (see
:meth:`~firebell.plugins.notion.postmortem.Postmortems.fill_summary`)."""

from __future__ import annotations

from collections.abc import Sequence

from firebell.core import (
    CommanderAssigned,
    FollowUpAdded,
    FollowUpDone,
    Incident,
    IncidentCreated,
    IncidentResolved,
    PersonNamed,
    RecordedEvent,
    SeverityChanged,
    hookimpl,
)
from firebell.plugins.notion.config import NotionConfig
from firebell.plugins.notion.incident_page import linked_page_id
from firebell.plugins.notion.postmortem import Summary, postmortems_for
from firebell.plugins.postmortem_header import appended_with, names_in_header

__all__ = [
    "firebell_incident_commander_assigned",
    "firebell_incident_severity_changed",
    "firebell_person_named",
]

#: Events whose delivery brings the summary line up to date with the incident as it is then
#: (a ``person.named`` appended with one of them is on the page already).
_SUMMARY_WRITERS = (
    IncidentCreated,
    SeverityChanged,
    CommanderAssigned,
    IncidentResolved,
    FollowUpAdded,
    FollowUpDone,
)


@hookimpl
def firebell_incident_severity_changed(
    event: RecordedEvent,
    incident: Incident,
    config: NotionConfig,
    history: Sequence[RecordedEvent],
) -> None:
    """Show the new severity in the Severity property and the page's summary line."""
    page_id = linked_page_id(incident)
    if page_id is None:
        return  # the page is made later, as the incident is then
    postmortems = postmortems_for(config)
    later = any(
        isinstance(e.data, SeverityChanged) and e.position > event.position for e in history
    )
    if not later:  # else the later change's delivery writes the property, once
        postmortems.set_properties(
            page_id, {"severity": incident.severity}, what="set the severity"
        )
    postmortems.fill_summary(page_id, Summary.of(incident, history))


@hookimpl
def firebell_incident_commander_assigned(
    incident: Incident, config: NotionConfig, history: Sequence[RecordedEvent]
) -> None:
    """Name the commander in the page's summary line."""
    page_id = linked_page_id(incident)
    if page_id is not None:
        postmortems_for(config).fill_summary(page_id, Summary.of(incident, history))


@hookimpl
def firebell_person_named(
    event: RecordedEvent,
    incident: Incident,
    config: NotionConfig,
    history: Sequence[RecordedEvent],
) -> None:
    """Show a name learned later for the reporter or the commander in the page's summary
    line."""
    data = event.data
    if not isinstance(data, PersonNamed) or data.person not in names_in_header(incident):
        return
    page_id = linked_page_id(incident)
    if page_id is None or _appended_with_summary_writer(event, history):
        # No page yet (it is made with the name), or the event it came with wrote the line.
        return
    postmortems_for(config).fill_summary(page_id, Summary.of(incident, history))


def _appended_with_summary_writer(event: RecordedEvent, history: Sequence[RecordedEvent]) -> bool:
    """Whether ``event`` came in the same append as an event whose delivery writes the summary
    line from a state holding the whole append (an incident's events reach a plugin in order,
    and the incident a delivery gets is read after the append). A command's names come in its
    append, before or after its own event: this saves a read of the page per name."""
    return any(isinstance(e.data, _SUMMARY_WRITERS) for e in appended_with(event, history))
