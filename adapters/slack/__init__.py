"""The Slack adapter (being written)."""
