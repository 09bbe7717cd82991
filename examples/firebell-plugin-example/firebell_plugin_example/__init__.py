"""An example Firebell plugin: a tamper-evident audit log of incident events, as JSON Lines.

Every event of every incident becomes one line of a file, for auditors and analytics::

    [plugins.example]
    path = "/var/log/firebell/audit.jsonl"
    events = ["incident.created", "incident.resolved"]   # default: every event
    signing_key = { env = "AUDIT_SIGNING_KEY" }          # optional: HMAC-SHA256 each line

It shows each part of the plugin contract: a validated attrs config class with a secret
(``firebell_plugin_spec``), an event hook that is safe to call twice (a redelivered event is not
written again), a hook returning a :class:`~firebell.core.Link` (the incident's ``audit-log``
resource) and a ``firebell_doctor`` check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import attrs
from firebell.core import Incident, Link, PluginSpec, RecordedEvent, Secret, hookimpl
from firebell.core.events import EVENT_TYPES

try:  # POSIX: also keep two Firebell processes from interleaving or doubling lines
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["AuditLogConfig", "read_audit_log", "verify_line"]

#: The kind of the resource linked to each incident (shown by ``firebell show``).
LINK_KIND = "audit-log"


def _check_path(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValueError("path: give the file to append to, e.g. 'firebell-audit.jsonl'")
    if Path(value).is_dir():
        raise ValueError(f"path: {value!r} is a folder; name a file inside it")


def _check_events(
    _instance: object, _attribute: attrs.Attribute[list[str]], value: list[str]
) -> None:
    for name in value:
        if name not in EVENT_TYPES:
            raise ValueError(
                f"events: {name!r} is not an event type; valid: {', '.join(sorted(EVENT_TYPES))}"
            )


@attrs.frozen
class AuditLogConfig:
    """``[plugins.example]``: where the audit log goes and what it records.

    ``path`` is the JSON Lines file (created with its folder when missing; default
    ``firebell-audit.jsonl``). ``events`` limits the log to these event types (default: all).
    ``include_data`` writes each event's payload (default true). ``signing_key``, written as
    ``{ env = "VARIABLE" }``, adds an HMAC-SHA256 ``signature`` to each line so that edits show.
    """

    path: str = attrs.field(default="firebell-audit.jsonl", validator=_check_path)
    events: list[str] = attrs.field(factory=list, validator=_check_events)
    # Literal rather than bool: Firebell's config converter would turn the string "no" into True.
    include_data: Literal[True, False] = True
    signing_key: Secret | None = None


# -- hooks -------------------------------------------------------------------------------------


@hookimpl
def firebell_plugin_spec() -> PluginSpec:
    """The audit log's settings; it waits for nothing."""
    return PluginSpec(
        config_class=AuditLogConfig,
        description="Appends one JSON line per incident event to an audit log file.",
    )


@hookimpl
def firebell_event(event: RecordedEvent, incident: Incident, config: AuditLogConfig) -> None:
    """Append the event to the audit log, unless it is there already (a repeated delivery)."""
    if config.events and event.type not in config.events:
        return
    path = Path(config.path)
    with _locked(path):
        if event.position in _positions(path):
            return
        line = _line(event, incident, config)
        with path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


@hookimpl
def firebell_incident_created(incident: Incident, config: AuditLogConfig) -> Link:
    """Link the incident to its audit trail (the same link however often it is called)."""
    path = Path(config.path).resolve()
    return Link(LINK_KIND, f"{path}#{incident.id}", f"{path.as_uri()}#{incident.id}", "Audit log")


@hookimpl
def firebell_doctor(config: AuditLogConfig) -> list[str]:
    """The audit log's folder must exist or be creatable, and the file must be writable."""
    path = Path(config.path)
    folder = path.parent.resolve()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK):
        return [f"path: cannot create {path} (no write access to {existing}); choose another path"]
    if path.exists() and not os.access(path, os.W_OK):
        return [f"path: {path} is not writable by this user; fix its permissions"]
    return []


# -- the log ----------------------------------------------------------------------------------


def _line(event: RecordedEvent, incident: Incident, config: AuditLogConfig) -> str:
    record: dict[str, Any] = {
        "position": event.position,
        "incident_id": event.incident_id,
        "version": event.version,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "state": incident.state.value,
        "severity": incident.severity,
    }
    if config.include_data:
        record["data"] = attrs.asdict(event.data)
    if config.signing_key is not None:
        record["signature"] = _signature(record, config.signing_key.reveal())
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def _signature(record: dict[str, Any], key: str) -> str:
    body = json.dumps(record, sort_keys=True, ensure_ascii=False).encode()
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def verify_line(line: str, key: str) -> bool:
    """Whether ``line`` of a signed audit log is as Firebell wrote it (signed with ``key``)."""
    record = json.loads(line)
    signature = record.pop("signature", None)
    return isinstance(signature, str) and hmac.compare_digest(signature, _signature(record, key))


def read_audit_log(path: str | Path) -> list[dict[str, Any]]:
    """Every record of the audit log at ``path``, oldest first (none when it does not exist)."""
    file = Path(path)
    if not file.exists():
        return []
    with file.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _positions(path: Path) -> set[int]:
    # Reading the whole file keeps the example short; a large log would keep an index instead.
    return {int(record["position"]) for record in read_audit_log(path)}


_threads = threading.Lock()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Deliveries of different incidents run on several threads, and `firebell run` and a CLI
    # command may deliver at once: one writer at a time, or a line could be written twice.
    path.parent.mkdir(parents=True, exist_ok=True)
    with _threads, (path.parent / f".{path.name}.lock").open("w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
