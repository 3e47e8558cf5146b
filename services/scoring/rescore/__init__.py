"""Scoring: rescore."""
