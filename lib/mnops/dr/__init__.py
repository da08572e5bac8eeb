"""Disaster-recovery tooling: local servers for the restore drill, driver connections, the drill.

scripts/dr/*.py are the command-line entry points; this package holds what they share and what
the tests import.
"""
