"""Fixtures for the local Globus-compatible service (filled in with the service)."""
