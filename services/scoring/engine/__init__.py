"""Scoring: engine."""
