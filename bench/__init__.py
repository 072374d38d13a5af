"""Benchmark: the mock against Prism and a bare-Starlette ceiling."""
