"""Benchmarks that print tables (``make bench``); not tests."""
