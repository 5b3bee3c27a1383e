"""Benchmarks of the runner (not collected by pytest: `testpaths` is `tests`). See benchmarks/README.md."""
