"""Plans: the operator's description of sites and what connects them.

    plan = geoflows.plan.load('etc/plans/example.yaml')

A plan is YAML, checked against the JSON Schema shipped in
``geoflows/schemas/plan-v1.schema.json`` (``geoflows plan schema`` prints
it), then by semantic checks (unknown sites, overlapping ranges, ...).
Any problem raises :class:`geoflows.exceptions.PlanError` listing all of
them with their place in the file (the first :data:`MAX_PROBLEMS`), and
nothing else is raised, whatever the text holds.  What is read is bounded
by :class:`Limits` (the ``[plan]`` options, or their defaults without a
loaded configuration)::

    plan = geoflows.plan.parse(text, 'inline', geoflows.plan.Limits(
        max_bytes=1024 * 1024))
"""

import contextlib
import functools
import gc

from geoflows import exceptions
from geoflows.plan import loader
from geoflows.plan import model
from geoflows.plan import validate

Plan = model.Plan
Problem = validate.Problem
Limits = loader.Limits
Position = loader.Position
SCHEMA_FILE = validate.SCHEMA_FILE
schema = validate.schema

#: At most this many problems are listed (then one that says how many more
#: there are): a human fixes a plan from its first problems, and a plan of a
#: million wrong values must not print a million lines.
MAX_PROBLEMS = 1000


def _collector_paused(function):
    """Run ``function`` with CPython's cyclic garbage collector paused.

    A plan of 1 MiB is some 170,000 mappings, lists and strings, none in a
    reference cycle.  Each of their allocations counts towards the next
    collection, and the full ones scan the whole heap: in a process that
    has imported geoflows' commands, loading such a plan took twice as
    long with the collector as without.  The collector is resumed at the
    end (if it ran before), even on error.
    """
    @functools.wraps(function)
    def paused(*args, **kwargs):
        with _paused_collector():
            return function(*args, **kwargs)
    return paused


@contextlib.contextmanager
def _paused_collector():
    if not gc.isenabled():  # paused already, or by the application
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _error(source, e):
    return exceptions.PlanError(source, [Problem(e.path, e.message,
                                                 e.position)])


def _too_deep(source, limits):
    return exceptions.PlanError(source, [Problem((), (
        'the plan nests too deeply to be checked (the limit is [plan] '
        'max_depth, %d levels)' % limits.max_depth), Position(1, 1))])


@_collector_paused
def parse(text, source='<plan>', limits=None):
    """Parse and validate plan ``text``; return a :class:`Plan`.

    ``text`` is YAML, as str or UTF-8 bytes.  ``limits`` (a
    :class:`Limits`) default to the ``[plan]`` options, or to their
    defaults without a loaded configuration.  Raises
    :class:`geoflows.exceptions.PlanError`, and nothing else, listing the
    problems with their line and column.
    """
    limits = limits or Limits.from_config()
    try:
        document = loader.load(text, source, limits)
    except loader.LoadError as e:
        raise _error(source, e)
    except RecursionError:
        raise _too_deep(source, limits)
    return from_document(document, source, limits)


@_collector_paused
def from_document(document, source='<plan>', limits=None):
    """Validate a :class:`loader.Document`, or plain data (a mapping).

    Plain data has no lines: its problems are placed by path only.
    """
    limits = limits or Limits.from_config()
    try:
        return _validate(document, source, limits)
    except RecursionError:
        raise _too_deep(source, limits)


def _validate(document, source, limits):
    if not isinstance(document, loader.Document):
        try:
            document = loader.from_data(document, limits)
        except loader.LoadError as e:
            raise _error(source, e)
    data = document.data
    if not isinstance(data, dict):
        raise exceptions.PlanError(source, [Problem(
            (), 'a plan is a mapping with version, name, sites and '
            'interconnects', document.position(()))])
    problems, count = validate.schema_check(data, document.shared,
                                            MAX_PROBLEMS)
    if not count:
        plan = model.build(data, source, document)
        problems, count = validate.semantic_check(plan, MAX_PROBLEMS)
    if count:
        for problem in problems:
            problem.position = document.position(problem.path,
                                                 key=problem.at_key)
        problems.sort(key=lambda p: (p.position.line if p.position else 0,
                                     p.position.column if p.position else 0))
        if count > len(problems):
            problems.append(Problem((), (
                '%d more problems are not listed (geoflows lists the first '
                '%d)' % (count - len(problems), MAX_PROBLEMS)),
                document.position(())))
        raise exceptions.PlanError(source, problems)
    return plan


@_collector_paused
def load(path, limits=None):
    """Read, parse and validate the plan file at ``path``."""
    limits = limits or Limits.from_config()
    try:
        text = loader.read(path, limits)
    except FileNotFoundError:
        raise exceptions.PlanError(path, [Problem(
            (), 'no such file')])
    except OSError as e:
        raise exceptions.PlanError(path, [Problem(
            (), 'cannot be read: %s' % e)])
    except loader.LoadError as e:
        raise _error(path, e)
    return parse(text, path, limits)
