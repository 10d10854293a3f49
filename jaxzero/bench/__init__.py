"""Benchmarks (what `scripts/bench.py` calls): engine, heuristic, self-play and search throughput.

Library modules outside this package hold no benchmark code.
"""
