"""The event log's schema revisions (Alembic), and what opening a log does about them.

- A new, empty database is created at the newest revision, :data:`HEAD`, and stamped with it.
- An SQLite log (one embedded file, one Firebell) that is behind is upgraded when it is opened.
- A PostgreSQL log that is behind is never changed behind the operator's back (several processes
  share it; the operator backs it up first): opening it raises :class:`DatabaseOutOfDate` until
  ``firebell db upgrade`` has run.
- A log at a revision this Firebell does not know (written by a newer one) is refused everywhere.

Logs created before Firebell tracked revisions hold exactly revision ``0001`` without the
``alembic_version`` table; an upgrade stamps them first.

Adding a revision: write ``versions/v000N_<what>.py`` (``down_revision`` = the previous one),
set :data:`HEAD` to it and change ``firebell.core.schema`` to match; the contract tests compare
an upgraded database with the metadata on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import sqlalchemy as sa
from firebell.core.errors import DatabaseOutOfDate
from firebell.core.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Alembic is imported only when a revision is written or checked against the scripts: a log
# at HEAD, which every command opens, is recognized with one query (importing Alembic takes a
# quarter of a second, most of a CLI command's start).

__all__ = [
    "BASELINE",
    "HEAD",
    "SchemaUpgrade",
    "alembic_config",
    "prepare_schema",
    "schema_revision",
    "upgrade_schema",
]

#: The newest revision; a test checks it is the head of ``versions/``.
HEAD = "0003"
#: The revision of logs created before revisions were tracked (no ``alembic_version`` table).
BASELINE = "0001"

_HERE = Path(__file__).resolve().parent
_MARKER_TABLE = "events"
#: Alembic's table of the revision a database is at.
_VERSION_TABLE = "alembic_version"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config for these migrations, running on ``connection`` when given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def _stamp(connection: sa.Connection, revision: str) -> None:
    from alembic.runtime.migration import MigrationContext

    MigrationContext.configure(connection).stamp(_scripts(), revision)


def schema_revision(connection: sa.Connection) -> str | None:
    """The revision the database is stamped with, or None (empty, or created before tracking)."""
    if not sa.inspect(connection).has_table(_VERSION_TABLE):
        return None
    revisions = connection.execute(sa.text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars()
    found = list(revisions)
    return str(found[0]) if found else None


def _has_log(connection: sa.Connection) -> bool:
    return sa.inspect(connection).has_table(_MARKER_TABLE)


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


def prepare_schema(connection: sa.Connection, *, upgrade: bool, where: str) -> None:
    """Make the database at ``connection`` (in a write transaction) ready for this Firebell.

    A new database is created at :data:`HEAD`. An existing one behind :data:`HEAD` is upgraded
    when ``upgrade`` is true (SQLite), else :class:`DatabaseOutOfDate` says to run ``firebell db
    upgrade``. ``where`` names the database in messages (a URL without its password).
    """
    revision = schema_revision(connection)
    if revision == HEAD:
        return
    if revision is None and not _has_log(connection):
        metadata.create_all(connection)
        _stamp(connection, HEAD)
        return
    if revision is not None and not _known(revision):
        raise DatabaseOutOfDate(
            f"The event log at {where} is at schema revision {revision!r}, which this Firebell "
            f"does not know (its newest is {HEAD!r}): a newer Firebell wrote it. Run that "
            "version (or newer), or restore a backup taken before the upgrade."
        )
    if not upgrade:
        found = (
            f"is at schema revision {revision!r}"
            if revision
            else "was created before Firebell tracked schema revisions"
        )
        raise DatabaseOutOfDate(
            f"The event log at {where} {found}; this Firebell needs revision {HEAD!r}. Back it "
            "up (pg_dump), then run `firebell db upgrade` once, from one process; start the "
            "others after it."
        )
    upgrade_schema(connection)


@attrs.frozen
class SchemaUpgrade:
    """What :func:`upgrade_schema` did.

    ``before`` is the revision found (None: an empty database, or ``adopted``), ``after`` the one
    left; ``adopted`` says a log from before revisions were tracked was stamped :data:`BASELINE`.
    ``added`` names the optional indexes a log already at :data:`HEAD` was given (PostgreSQL's
    trigram indexes, once ``pg_trgm`` can be had: :mod:`firebell.core.search_indexes`).
    """

    before: str | None
    after: str
    adopted: bool = False
    added: tuple[str, ...] = ()


def upgrade_schema(connection: sa.Connection) -> SchemaUpgrade:
    """Upgrade the database at ``connection`` (in a write transaction) to :data:`HEAD`.

    A log from before revisions were tracked is stamped :data:`BASELINE` first. A log at
    :data:`HEAD` is given the optional indexes it lacks, if it can be now.
    """
    before = schema_revision(connection)
    if before == HEAD:
        from firebell.core.search_indexes import create_trigram_indexes

        return SchemaUpgrade(before, HEAD, added=create_trigram_indexes(connection))
    if before is not None and not _known(before):
        raise DatabaseOutOfDate(
            f"The database is at schema revision {before!r}, which this Firebell does not know "
            f"(its newest is {HEAD!r}); a newer Firebell wrote it. Nothing was changed."
        )
    adopted = before is None and _has_log(connection)
    if adopted:
        _stamp(connection, BASELINE)
    if (BASELINE if adopted else before) != HEAD:
        from alembic import command

        command.upgrade(alembic_config(connection), "head")
    return SchemaUpgrade(before, HEAD, adopted)
