"""Firebell's exceptions: one base class, one subclass per thing that can go wrong."""

from __future__ import annotations

__all__ = [
    "CommandRefused",
    "ConcurrencyConflict",
    "ConfigError",
    "DatabaseOutOfDate",
    "DatabaseUnavailable",
    "DatabaseUnusable",
    "FirebellError",
    "IncidentNotFound",
    "InvalidInput",
    "NameSpaceExhausted",
    "NothingToDo",
    "PermanentPluginError",
    "RetryLater",
]


class FirebellError(Exception):
    """Raised when Firebell cannot do what was asked; the message says what to do instead."""


class ConfigError(FirebellError):
    """Raised when ``plugins.toml`` or the environment it refers to is wrong.

    The message names the file, the table and the key, and says what would be valid.
    """


class IncidentNotFound(FirebellError):
    """Raised when a command names an incident the log does not hold."""


class CommandRefused(FirebellError):
    """Raised when a command is not allowed in the incident's current state, or for this actor."""


class InvalidInput(FirebellError):
    """Raised when a command's input is malformed (empty title, unknown severity, too long)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConcurrencyConflict(FirebellError):
    """Raised when another writer appended to the same incident first (expected version moved)."""


class NameSpaceExhausted(FirebellError):
    """Raised when no free incident name could be drawn after many attempts."""


class DatabaseUnavailable(FirebellError):
    """Raised when the event log's database cannot be reached or is locked for too long."""


class DatabaseUnusable(DatabaseUnavailable):
    """Raised when the event log's database answers but cannot be used until someone acts.

    It is read-only (a standby, ``default_transaction_read_only``, a file that cannot be
    written), does not exist, is not a database, or refuses the login. The message says what to
    change, not to try again. A subclass of :class:`DatabaseUnavailable`, so that whatever
    waits out an outage (the delivery worker, ``/healthz``) treats it alike.
    """


class DatabaseOutOfDate(FirebellError):
    """Raised when the event log's schema is not the one this Firebell needs.

    The message says what to do: run ``firebell db upgrade`` (PostgreSQL logs are not upgraded
    on open), or run the newer Firebell that wrote the log.
    """


class RetryLater(FirebellError):
    """Raised by a plugin when a delivery failed for a reason that may pass (outage, rate limit).

    ``retry_after`` (seconds), when given, is honoured before the next attempt. ``rate_limited``
    marks a vendor's rate limit (HTTP 429): the delivery waits and is retried, but it is not
    reported to the responders as a failure.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, rate_limited: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class PermanentPluginError(FirebellError):
    """Raised by a plugin when retrying cannot help (bad credentials, unknown service id).

    The delivery is parked as failed and reported; ``firebell retry`` queues it again once fixed.
    """


class NothingToDo(FirebellError):
    """Raised by a plugin when the event needs nothing from it any more.

    The incident moved on before the delivery ran (resolved before it could be paged): the hook
    did not reach its service, and need not. The delivery is done, as if the hook had returned
    None, but it is no sign that the service works: when the plugin was failing for the incident,
    the engine appends ``IntegrationSkipped`` with the message as its reason ("the incident was
    resolved before PagerDuty could be paged"), not ``IntegrationRecovered``.
    """
