"""Helpers shared by mailbot's tests (no fixtures here: those live in tests/conftest.py)."""
