"""Scoring: voice."""
