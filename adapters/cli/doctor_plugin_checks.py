"""``firebell doctor`` on one plugin's table: its settings on their own (secrets, keys, whether
it is installed), then whether its service accepts them (the plugin's ``firebell_doctor`` hook,
or the ``check`` of a built-in plugin older than the hook)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from firebell.adapters.cli.doctor_report import Check
from firebell.adapters.cli.doctor_slack_manifest import check_manifest
from firebell.core.config import FirebellConfig, parse_config
from firebell.core.errors import ConfigError
from firebell.core.plugin_host import InstalledPlugin, PluginHost
from firebell.core.runtime import redact_secrets

__all__ = ["check_plugin", "without_delivery_advice"]


def check_plugin(
    name: str,
    table: Any,
    engine_raw: Mapping[str, Any],
    path: Path | None,
    env: Mapping[str, str],
    manager: Any,
    installed: Mapping[str, InstalledPlugin],
    checks: list[Check],
) -> bool:
    """Append the lines of plugin ``name``'s table to ``checks``: its settings alone, then its
    service, and for Slack the app's scopes. False when the settings themselves are not valid."""
    subject = f"plugin {name}"
    try:
        alone = parse_config({**engine_raw, "plugins": {name: table}}, path=path, environ=env)
        # Built for a disabled table too: its `after` is checked at start-up all the same, and
        # a wrong name there belongs on this plugin's line, as it does for an enabled one.
        host = PluginHost(alone, manager, installed)
        if not alone.plugins[name].enabled:
            checks.append(Check("skip", subject, "disabled (enabled = false); not checked"))
            return True
    except ConfigError as error:
        checks.append(Check("fail", subject, str(error)))
        return False
    enabled = host.enabled[name]
    checks.append(Check("ok", subject, f"settings are valid ({enabled.source})"))
    checks.extend(Check("warn", subject, problem) for problem in host.unknown_hooks.get(name, ()))
    try:
        problems = _service_problems(host, name, alone)
    except Exception as error:
        message = redact_secrets(f"{type(error).__name__}: {error}", alone)
        message = without_delivery_advice(message)
        checks.append(Check("fail", name, f"the check itself failed: {message}"))
        return True
    if problems is None:
        checks.append(Check("skip", name, "the plugin has no firebell_doctor check"))
    elif not problems:
        checks.append(Check("ok", name, "the service accepts the settings"))
    for problem in problems or []:
        text = without_delivery_advice(redact_secrets(str(problem), alone))
        if text.lower().startswith(f"{name}: "):  # "slack: …" would read "fail slack: slack: …"
            text = text[len(name) + 2 :]
        checks.append(Check("fail", name, text))
    if name == "slack":
        checks.append(check_manifest(enabled.config, alone))
    return True


# What a plugin's delivery errors add for the delivery worker: that it will try again, or how to
# send a parked delivery again. A doctor check retries nothing, and there may be nothing to
# send again; its line says what to fix, so the advice is dropped from it.
_DELIVERY_ADVICE = re.compile(
    r"(?P<separator>[;,.]?)\s*(?:"
    r"(?:then\s+|and\s+)?(?:run\s+)?`firebell retry[^`]*`"
    r"|(?:Firebell\s+)?[Ww]ill retry"
    r"|(?:trying again|retrying)(?: later| (?:in|after) (?:[\d.]+|a while) s)?"
    r")"
)


def without_delivery_advice(text: str) -> str:
    """``text`` without what its delivery would do next ("; Firebell will retry", "trying again
    later", ", then run `firebell retry --plugin slack`"), for a line of ``firebell doctor``."""
    text = _DELIVERY_ADVICE.sub(lambda found: "." if found["separator"] == "." else "", text)
    return re.sub(r"\.(?:\s*\.)+", ".", text)  # a full stop before the advice and one after


def _service_problems(host: PluginHost, name: str, settings: FirebellConfig) -> list[str] | None:
    """The plugin's own check: its ``firebell_doctor`` hook, else its module's ``check``."""
    config = host.enabled[name].config
    values = {"config": config, "settings": settings}
    impls = [
        impl
        for impl in host.manager.hook.firebell_doctor.get_hookimpls()
        if impl.plugin_name == name
    ]
    if impls:
        problems: list[str] = []
        for impl in impls:
            result = impl.function(**{arg: values[arg] for arg in impl.argnames if arg in values})
            problems.extend(_lines(name, result))
        return problems
    check = getattr(host.manager.get_plugin(name), "check", None)
    if callable(check):
        # Built-in plugins written before the hook existed expose check(config[, settings]).
        wanted = inspect.signature(check).parameters
        return _lines(name, check(**{k: v for k, v in values.items() if k in wanted}))
    return None


def _lines(name: str, result: object) -> list[str]:
    if result is None:
        return []
    if isinstance(result, str) or not isinstance(result, Sequence):
        raise TypeError(f"plugin {name!r}: firebell_doctor returned {result!r}, not a list of str")
    return [str(item) for item in result]
