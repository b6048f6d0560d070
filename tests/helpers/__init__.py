"""Pieces the tests pass to runs in their own processes (on PYTHONPATH=tests)."""
