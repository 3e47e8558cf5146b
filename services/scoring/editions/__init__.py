"""Scoring: editions."""
