"""Writing a ``plugins.toml`` from the document :func:`firebell.core.config.parse_config` takes.

For tests and benchmarks that run ``firebell`` as a process: the same dict that configures an
in-process Firebell becomes the file the process reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["to_toml"]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(document: Mapping[str, Any]) -> str:
    """The ``plugins.toml`` text of ``document`` (one ``[plugins.<name>]`` table per plugin)."""
    lines: list[str] = []
    for table, values in document.items():
        if table == "plugins":
            for plugin, options in values.items():
                lines.append(f"[plugins.{plugin}]")
                lines += [f"{key} = {_toml_value(v)}" for key, v in options.items()]
                lines.append("")
            continue
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(v)}" for key, v in values.items()]
        lines.append("")
    return "\n".join(lines)
