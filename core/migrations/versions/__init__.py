"""Alembic revisions of the event log's schema, oldest first (``v0001_initial`` ...)."""
