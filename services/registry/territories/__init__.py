"""Territories: régions, départements, communes and EPCI with their legal populations."""
