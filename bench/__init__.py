"""Osler's benchmarks: ``bench/run_bench.py`` runs every module listed in its ``BENCHMARKS``."""
