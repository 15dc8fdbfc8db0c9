"""Developer commands behind the Makefile: training cache, process supervisor, evaluation, benchmarks."""
