"""Firebell."""
