"""Scoring: deadletters."""
