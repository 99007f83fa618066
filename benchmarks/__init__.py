"""Benchmarks that compare ``ptm_lib`` with a reference implementation run in the same process.

Run one with ``python -m benchmarks.<name> --help``.
"""
