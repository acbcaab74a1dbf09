"""python -m benchmarks.overhead: the same as benchmarks/run."""

from benchmarks.overhead.cli import main

main()
