"""The testing kit's plugins.toml writer gives back the document it was handed."""

from __future__ import annotations

import tomllib

from firebell.testing.plugins_toml import to_toml


def test_a_document_survives_the_round_trip_through_toml() -> None:
    document = {
        "firebell": {"database_url": "sqlite:///x.db", "default_severity": "SEV1"},
        "plugins": {
            "slack": {
                "bot_token": {"env": "SLACK_BOT_TOKEN"},
                "announcement_channels": ["C1", "C2"],
                "announce_updates": False,
                "timeout": 2.5,
            },
            "console": {},
            "statuspage": {"impact": {"SEV0": "critical"}, "requests_per_second": 3},
        },
    }

    assert tomllib.loads(to_toml(document)) == document
