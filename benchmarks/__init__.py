"""Benchmarks: each ``bench_*.py`` module has ``run(quick: bool) -> None`` that prints its figures."""
