"""Taskflow tasks, one module per service (network, compute, volume, ...).

See geoflows.tasks.base for the shapes every resource's tasks share.
"""
