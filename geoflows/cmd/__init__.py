"""The ``geoflows`` command (cliff): plans, jobs and operations."""
