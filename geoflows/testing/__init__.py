"""Test helpers that ship with geoflows.

``fakecloud`` is an in-memory OpenStack for unit tests and benchmarks;
``minicloud`` starts real OpenStack services on 127.0.0.1 for functional
tests, demos and rehearsals.  Neither is used by the runner itself.
"""
