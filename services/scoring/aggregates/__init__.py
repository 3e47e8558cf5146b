"""Scoring: aggregates."""
