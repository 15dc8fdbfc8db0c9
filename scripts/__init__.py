"""Developer commands behind the Makefile.

Training cache, process supervisor, NLU evaluation and benchmarks.
"""
