"""Common building blocks of the Baromètre services (no domain logic here)."""
