"""Plans: the operator's description of sites and what connects them.

    plan = geoflows.plan.load('etc/plans/example.yaml')

A plan is YAML, checked against the JSON Schema shipped in
``geoflows/schemas/plan-v1.schema.json`` (``geoflows plan schema`` prints
it), then by semantic checks (unknown sites, overlapping ranges, ...).
Any problem raises :class:`geoflows.exceptions.PlanError` listing all of
them with their place in the file.
"""

from geoflows import exceptions
from geoflows.plan import loader
from geoflows.plan import model
from geoflows.plan import validate

Plan = model.Plan
Problem = validate.Problem
SCHEMA_FILE = validate.SCHEMA_FILE
schema = validate.schema


def parse(text, source='<plan>'):
    """Parse and validate plan ``text``; return a :class:`Plan`."""
    try:
        document = loader.load(text, source)
    except loader.LoadError as e:
        raise exceptions.PlanError(source, [
            Problem(e.path, e.message, e.position)])
    except RecursionError:
        raise exceptions.PlanError(source, [Problem(
            (), 'the document nests too deeply to be a plan')])
    return from_document(document, source)


def from_document(document, source='<plan>'):
    """Validate a :class:`loader.Document` (or plain data)."""
    if not isinstance(document, loader.Document):
        document = loader.Document(document, {})
    data = document.data
    if not isinstance(data, dict):
        raise exceptions.PlanError(source, [Problem(
            (), 'a plan is a mapping with version, name, sites and '
            'interconnects', document.position(()))])
    problems = validate.schema_problems(data)
    if not problems:
        plan = model.build(data, source)
        problems = validate.semantic_problems(plan)
    if problems:
        for problem in problems:
            problem.position = document.position(problem.path,
                                                 key=problem.at_key)
        problems.sort(key=lambda p: (p.position.line if p.position else 0,
                                     p.position.column if p.position else 0))
        raise exceptions.PlanError(source, problems)
    return plan


def load(path):
    """Read, parse and validate the plan file at ``path``."""
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except FileNotFoundError:
        raise exceptions.PlanError(path, [Problem(
            (), 'no such file')])
    except (OSError, UnicodeDecodeError) as e:
        raise exceptions.PlanError(path, [Problem(
            (), 'cannot be read: %s' % e)])
    return parse(text, path)
