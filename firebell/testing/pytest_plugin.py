"""Pytest fixtures for Firebell and its plugins (registered through the ``pytest11`` entry point)."""

from __future__ import annotations
