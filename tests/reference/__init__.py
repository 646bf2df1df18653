"""Runners for the original implementations our model ports are checked against (used by tests only)."""
