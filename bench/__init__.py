"""Benchmarks: each figure is a ratio to a hand-written baseline run in the same process (see PERFORMANCE.md)."""
