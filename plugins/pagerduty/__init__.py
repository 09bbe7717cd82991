"""The pagerduty plugin (being written)."""
