"""A Firebell on a temporary SQLite log, outside pytest: for examples, scripts and doc snippets.

::

    with temporary_firebell(plugins={"pager": Pager()}) as firebell:
        IncidentLifecycle(firebell).declare()
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from firebell.core.config import parse_config
from firebell.core.runtime import Firebell, open_firebell

__all__ = ["temporary_firebell"]


@contextmanager
def temporary_firebell(
    plugins: Mapping[str, object] | None = None,
    *,
    document: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    directory: str | Path | None = None,
    **options: Any,
) -> Iterator[Firebell]:
    """Open a Firebell on a new SQLite log in a temporary folder; close and remove it after.

    ``plugins`` maps names to plugin objects (modules or instances of ``@hookimpl`` functions),
    each enabled with an empty table unless ``document`` (the parsed ``plugins.toml``) gives
    one; installed plugins that ``document`` enables are found through their entry points.
    ``options`` go to :func:`firebell.core.open_firebell`; failed deliveries are due again at
    once (``retry_base=0.0``) unless you say otherwise.
    """
    raw: dict[str, Any] = {key: dict(value) for key, value in (document or {}).items()}
    tables = raw.setdefault("plugins", {})
    for name in plugins or {}:
        tables.setdefault(name, {})
    options.setdefault("retry_base", 0.0)
    with tempfile.TemporaryDirectory(dir=directory) as folder:
        raw.setdefault("firebell", {}).setdefault(
            "database_url", f"sqlite:///{Path(folder) / 'firebell.db'}"
        )
        settings = parse_config(raw, path=Path(folder) / "plugins.toml", environ=environ or {})
        firebell = open_firebell(settings, extra_plugins=plugins, **options)
        try:
            yield firebell
        finally:
            firebell.close()
