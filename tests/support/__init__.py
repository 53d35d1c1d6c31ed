"""Shared test support (importable as ``support`` because pytest puts ``tests`` on the path)."""
