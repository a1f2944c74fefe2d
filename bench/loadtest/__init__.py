"""Helpers of bench/load.py: the seeded database and the simulated people."""
