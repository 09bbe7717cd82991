"""The statuspage plugin (being written)."""
