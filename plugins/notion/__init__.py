"""The notion plugin (being written)."""
