"""The slack plugin (being written)."""
