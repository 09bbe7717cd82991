"""Firebell: Slack-based incident management on an event-sourced, plugin-based engine."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
