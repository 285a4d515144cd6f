"""Helpers for tests: plain functions and classes, imported by name. Fixtures live in
tests/fixtures (registered by tests/conftest.py), data factories in tests/factories.py;
nothing is imported from a conftest module or from another test module."""
