"""asv benchmarks of stochnet (run from ``benchmarks/``: ``asv run --python=same --quick``)."""
