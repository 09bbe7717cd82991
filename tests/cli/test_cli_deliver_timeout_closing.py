"""A plugin call cut short because the command is ending is not the plugin's failure.

When ``--deliver-timeout`` runs out with a call under way, the command ends and leaves the call
behind. A plugin that runs its requests on a ``ThreadPoolExecutor`` (as the Slack plugin does)
then gets ``RuntimeError: cannot schedule new futures after interpreter shutdown`` from the
interpreter that is stopping: that says nothing about the vendor, so the incident's timeline
must not say the plugin failed. The delivery runs again later, as for any call left behind.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from firebell.core import open_firebell
from firebell.core.config import load_config
from firebell.core.events import IntegrationFailed
from test_cli_deliver_timeout import environment, run_firebell, switched_plugin_config

SLOW_POOLED_PLUGIN = textwrap.dedent(
    """
    '''A vendor that answers in 3 s while the switch file exists, called from a thread pool.'''
    import time
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    import attrs
    from firebell.core import PluginSpec, hookimpl


    @attrs.frozen
    class SlowConfig:
        switch: str
        journal: str


    @hookimpl
    def firebell_plugin_spec():
        return PluginSpec(config_class=SlowConfig, description="Slow, from a thread pool.")


    def _call(config):
        if Path(config.switch).exists():
            time.sleep(3)


    @hookimpl
    def firebell_incident_created(incident, config, attempt):
        for _ in range(2):  # two rounds of requests, like the Slack plugin's channel set-up
            with ThreadPoolExecutor(max_workers=2) as pool:
                calls = [pool.submit(_call, config) for _ in range(2)]
            for call in calls:
                call.result()
        with open(config.journal, "a") as journal:
            journal.write(f"{incident.id} {attempt}\\n")
    """
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """plugins.toml with console, markdown and the installed ``slow`` plugin (slow for now)."""
    return switched_plugin_config(
        tmp_path, monkeypatch, "slow", "fbtest_slow_pooled", SLOW_POOLED_PLUGIN, switch="slow"
    )


def test_a_call_cut_short_by_the_command_ending_is_not_recorded_as_a_failure(
    config: Path, tmp_path: Path
) -> None:
    environ = environment(tmp_path)
    names = []
    for title in ("first", "second"):
        declared = run_firebell(config, environ, "--deliver-timeout", "1", "declare", title)
        assert declared.returncode == 0, declared.stderr
        match = re.search(r"^(\d{8}-[a-z]+-[a-z]+): declared\.", declared.stdout, re.M)
        assert match, declared.stdout
        names.append(match.group(1))
        assert "RuntimeError" not in declared.stderr, declared.stderr
        assert "failed on incident.created" not in declared.stderr, declared.stderr

    settings = load_config(config, environ={})
    firebell = open_firebell(settings)
    try:
        for name in names:
            failures = [
                recorded.data
                for recorded in firebell.store.select_events(name)
                if isinstance(recorded.data, IntegrationFailed)
            ]
            assert failures == [], f"{name}: {failures}"
        backlog = firebell.deliverer.outbox.backlog()["slow"]
        assert (backlog.failed, backlog.last_error) == (0, None)
        assert backlog.pending == 2, "the deliveries cut short run again later"
    finally:
        firebell.close()
