"""Benchmarks that print figures (``make bench``); no timed asserts live in the tests."""
