"""Firebell's testing kit: fake vendor services, signed Slack requests and pytest fixtures."""
