"""Slack's limits on message, topic, channel-name and view sizes, and a trigger id's life."""

from __future__ import annotations

# Block Kit and message limits from Slack's reference.
MAX_TEXT = 40_000
MAX_TOPIC = 250
MAX_CHANNEL_NAME = 80
MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_VIEW_TEXT = 24
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_STACK = 3
TRIGGER_TTL = 3.0
