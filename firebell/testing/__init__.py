"""Firebell's testing kit: fake vendor services, signed Slack requests, pytest fixtures, the
incident lifecycle driver and the plugin contract check.

The fixtures (``make_firebell``, ``firebell``, ``incident_lifecycle``, ``fake_slack``) come with
the ``pytest11`` entry point; import the rest from here::

    from firebell.testing import IncidentLifecycle, check_plugin_contract, temporary_firebell
"""

from __future__ import annotations

from firebell.testing.contract import (
    ContractReport,
    PluginContractError,
    check_plugin_contract,
)
from firebell.testing.lifecycle import FULL_LIFECYCLE, IncidentLifecycle
from firebell.testing.temporary import temporary_firebell

__all__ = [
    "FULL_LIFECYCLE",
    "ContractReport",
    "IncidentLifecycle",
    "PluginContractError",
    "check_plugin_contract",
    "temporary_firebell",
]
