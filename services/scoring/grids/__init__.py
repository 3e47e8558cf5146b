"""Scoring: grids."""
