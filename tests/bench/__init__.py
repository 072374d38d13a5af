"""Smoke test of the benchmark."""
