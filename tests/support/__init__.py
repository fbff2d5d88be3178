"""Helpers that several test modules share: plain functions and values, no tests.

Fixtures live in ``tests/conftest.py``; a test module never imports another test module.
"""
