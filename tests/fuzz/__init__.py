"""Fuzzing harnesses (run by make targets, not collected by pytest)."""
