"""Check plan data against the plan JSON Schema, fast.

The published schema (``plan-v1.schema.json``) is the contract, and
jsonschema its reference implementation; but jsonschema spends about 12 µs
on each value of a plan, 2 s or more on a plan of 1 MiB.  :func:`compile`
turns the schema into Python closures, once, for the keywords the plan
schema uses, with jsonschema's semantics (same errors, same order); a
schema with any other keyword gets None, and validation falls back to
jsonschema.  The unit tests check both against each other on random data.

Two differences, both deliberate:

* ``pattern`` follows ECMA-262, as JSON Schema says: ``$`` matches at the
  very end only, not before a final newline as Python's ``$`` does.
* A mapping or list that appears at several places (a YAML alias) is
  checked once against each part of the schema; its errors are repeated at
  each place, so the cost follows the text, not the expanded plan.
"""

import numbers
import re


class Unsupported(Exception):
    """The schema uses a keyword this module does not implement."""


def ecma_pattern(pattern):
    """``pattern`` (ECMA-262) as a compiled Python regular expression.

    Outside of character classes, ``$`` becomes ``\\Z`` (the end of the
    text, never before a final newline).
    """
    out, i, in_class = [], 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == '\\':
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if char == ']':
                in_class = False
        elif char == '[':
            in_class = True
            out.append(char)
            i += 1
            if pattern[i:i + 1] == '^':
                out.append('^')
                i += 1
            if pattern[i:i + 1] == ']':  # a literal ] first in a class
                out.append(']')
                i += 1
            continue
        elif char == '$':
            char = r'\Z'
        out.append(char)
        i += 1
    return re.compile(''.join(out))


class Error(object):
    """A schema error.

    It has the attributes of jsonschema's ValidationError that geoflows
    reads.
    """

    __slots__ = ('validator', 'path', 'instance', 'schema',
                 'validator_value', 'in_property_names', '_message')

    context = ()

    def __init__(self, validator, path, instance, schema, message=None):
        self.validator = validator
        self.path = path
        self.instance = instance
        self.schema = schema
        self.validator_value = schema[validator]
        self.in_property_names = False
        self._message = message

    @property
    def absolute_path(self):
        return self.path

    @property
    def schema_path(self):
        # Only ever asked whether it goes through propertyNames.
        return ('propertyNames',) if self.in_property_names else ()

    @property
    def message(self):
        if self._message is None:
            self._message = '%r: %s' % (self.instance, self.validator)
        return self._message

    def rooted(self, prefix):
        error = Error.__new__(Error)
        error.validator = self.validator
        error.path = prefix + self.path
        error.instance = self.instance
        error.schema = self.schema
        error.validator_value = self.validator_value
        error.in_property_names = self.in_property_names
        error._message = self._message
        return error


class Errors(object):
    """Collected errors: the first ``cap`` kept, all counted."""

    __slots__ = ('items', 'count', 'cap')

    def __init__(self, cap):
        self.items = []
        self.count = 0
        self.cap = cap

    def add(self, error):
        self.count += 1
        if len(self.items) < self.cap:
            self.items.append(error)

    def add_rooted(self, errors, prefix):
        room = self.cap - len(self.items)
        for error in errors.items[:max(room, 0)]:
            self.add(error.rooted(prefix))
        self.count += errors.count - min(max(room, 0), len(errors.items))


class _Context(object):
    __slots__ = ('out', 'shared', 'memo', 'cap')

    def __init__(self, out, shared, memo, cap):
        self.out = out
        self.shared = shared
        self.memo = memo
        self.cap = cap

    def with_out(self, out):
        return _Context(out, self.shared, self.memo, self.cap)


def _descend(check, child, path, ctx):
    if ctx.shared and type(child) in (dict, list) and \
            id(child) in ctx.shared:
        key = (id(child), id(check))
        errors = ctx.memo.get(key)
        if errors is None:
            errors = Errors(ctx.cap)
            check(child, (), ctx.with_out(errors))
            ctx.memo[key] = errors
        if errors.count:
            ctx.out.add_rooted(errors, path)
        return
    check(child, path, ctx)


def _is_object(value):
    return isinstance(value, dict)


def _is_array(value):
    return isinstance(value, list)


def _is_string(value):
    return isinstance(value, str)


def _is_integer(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def _is_number(value):
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


_TYPES = {'object': _is_object, 'array': _is_array, 'string': _is_string,
          'integer': _is_integer, 'number': _is_number,
          'boolean': lambda value: isinstance(value, bool),
          'null': lambda value: value is None}


def _unbool(value, true=object(), false=object()):
    if value is True:
        return true
    if value is False:
        return false
    return value


def _equal(one, two):
    """jsonschema's equality: true is not 1, 1.0 is 1."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(
            _equal(a, b) for a, b in zip(one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(
            _equal(one[k], two[k]) for k in one)
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        return False
    return _unbool(one) == _unbool(two)


# Keywords that only annotate, or that another keyword reads.
_IGNORED = {'$schema', '$id', '$comment', '$defs', 'definitions', 'title',
            'description', 'default', 'examples', 'deprecated', 'readOnly',
            'writeOnly', 'then', 'else'}


class _Compiler(object):

    def __init__(self, root):
        self.root = root
        self.compiled = {}

    def compile(self, schema):
        key = id(schema)
        if key in self.compiled:
            return self.compiled[key]
        if schema is True or schema == {}:
            def check(instance, path, ctx):
                return None
            self.compiled[key] = check
            return check
        if not isinstance(schema, dict):
            raise Unsupported('schema %r' % (schema,))
        steps = []

        def check(instance, path, ctx):
            for step in steps:
                step(instance, path, ctx)
        # Registered first: a $ref back to this schema finds it.
        self.compiled[key] = check
        for keyword, value in schema.items():
            if keyword in _IGNORED:
                continue
            build = getattr(self, 'k_' + keyword.lstrip('$'), None)
            if build is None:
                raise Unsupported('keyword %r' % keyword)
            steps.append(build(value, schema))
        return check

    def resolve(self, ref):
        if not ref.startswith('#'):
            raise Unsupported('$ref %r' % ref)
        node = self.root
        for part in ref[1:].split('/')[1:]:
            part = part.replace('~1', '/').replace('~0', '~')
            node = node[part]
        return node

    # -- keywords: each returns step(instance, path, ctx) ---------------

    def k_ref(self, ref, schema):
        # compile() registers a schema before its keywords: a $ref back to
        # an enclosing schema gets its (then completed) check.
        return self.compile(self.resolve(ref))

    def k_type(self, types, schema):
        checks = [_TYPES[t] for t in (types if isinstance(types, list)
                                      else [types])]

        def step(instance, path, ctx):
            for is_type in checks:
                if is_type(instance):
                    return
            ctx.out.add(Error('type', path, instance, schema))
        return step

    def k_required(self, required, schema):
        def step(instance, path, ctx):
            if isinstance(instance, dict):
                for name in required:
                    if name not in instance:
                        ctx.out.add(Error(
                            'required', path, instance, schema,
                            '%r is a required property' % (name,)))
        return step

    def k_properties(self, properties, schema):
        subs = [(name, self.compile(sub)) for name, sub in properties.items()]

        def step(instance, path, ctx):
            if isinstance(instance, dict):
                for name, check in subs:
                    if name in instance:
                        _descend(check, instance[name], path + (name,), ctx)
        return step

    def k_additionalProperties(self, extra, schema):
        if 'patternProperties' in schema:
            raise Unsupported('patternProperties')
        known = frozenset(schema.get('properties', ()))
        if extra is False:
            def step(instance, path, ctx):
                if isinstance(instance, dict) and any(
                        name not in known for name in instance):
                    ctx.out.add(Error('additionalProperties', path,
                                      instance, schema))
            return step
        check = self.compile(extra)

        def step(instance, path, ctx):
            if isinstance(instance, dict):
                for name, value in instance.items():
                    if name not in known:
                        _descend(check, value, path + (name,), ctx)
        return step

    def k_propertyNames(self, names, schema):
        check = self.compile(names)

        def step(instance, path, ctx):
            if isinstance(instance, dict):
                flagged = _Flagged(ctx.out)
                sub = ctx.with_out(flagged)
                for name in instance:
                    check(name, path, sub)
        return step

    def _count_keyword(self, keyword, test):
        def build(limit, schema):
            def step(instance, path, ctx):
                if test(instance, limit):
                    ctx.out.add(Error(keyword, path, instance, schema))
            return step
        return build

    def k_minProperties(self, limit, schema):
        return self._count_keyword('minProperties', lambda i, n: isinstance(
            i, dict) and len(i) < n)(limit, schema)

    def k_maxProperties(self, limit, schema):
        return self._count_keyword('maxProperties', lambda i, n: isinstance(
            i, dict) and len(i) > n)(limit, schema)

    def k_minItems(self, limit, schema):
        return self._count_keyword('minItems', lambda i, n: isinstance(
            i, list) and len(i) < n)(limit, schema)

    def k_maxItems(self, limit, schema):
        return self._count_keyword('maxItems', lambda i, n: isinstance(
            i, list) and len(i) > n)(limit, schema)

    def k_minLength(self, limit, schema):
        return self._count_keyword('minLength', lambda i, n: isinstance(
            i, str) and len(i) < n)(limit, schema)

    def k_maxLength(self, limit, schema):
        def step(instance, path, ctx):
            if isinstance(instance, str) and len(instance) > limit:
                ctx.out.add(Error('maxLength', path, instance, schema,
                                  '%r is too long' % (instance,)))
        return step

    def k_minimum(self, limit, schema):
        return self._count_keyword('minimum', lambda i, n: _is_number(
            i) and i < n)(limit, schema)

    def k_maximum(self, limit, schema):
        return self._count_keyword('maximum', lambda i, n: _is_number(
            i) and i > n)(limit, schema)

    def k_items(self, items, schema):
        if not isinstance(items, dict):
            raise Unsupported('items %r' % (items,))
        check = self.compile(items)
        # After prefixItems, items is about the elements that follow.
        first = len(schema.get('prefixItems') or ())

        def step(instance, path, ctx):
            if isinstance(instance, list):
                for index in range(first, len(instance)):
                    _descend(check, instance[index], path + (index,), ctx)
        return step

    def k_prefixItems(self, prefix, schema):
        checks = [self.compile(sub) for sub in prefix]

        def step(instance, path, ctx):
            if isinstance(instance, list):
                for index, (check, item) in enumerate(zip(checks, instance)):
                    _descend(check, item, path + (index,), ctx)
        return step

    def k_pattern(self, pattern, schema):
        search = ecma_pattern(pattern).search

        def step(instance, path, ctx):
            if isinstance(instance, str) and not search(instance):
                ctx.out.add(Error('pattern', path, instance, schema))
        return step

    def k_const(self, const, schema):
        def step(instance, path, ctx):
            if not _equal(instance, const):
                ctx.out.add(Error('const', path, instance, schema))
        return step

    def k_enum(self, values, schema):
        def step(instance, path, ctx):
            if all(not _equal(value, instance) for value in values):
                ctx.out.add(Error('enum', path, instance, schema))
        return step

    def k_allOf(self, subs, schema):
        checks = [self.compile(sub) for sub in subs]

        def step(instance, path, ctx):
            for check in checks:
                check(instance, path, ctx)
        return step

    def k_if(self, condition, schema):
        test = self.compile(condition)
        then = self.compile(schema['then']) if 'then' in schema else None
        otherwise = self.compile(schema['else']) if 'else' in schema else None

        def step(instance, path, ctx):
            probe = Errors(0)
            test(instance, path, ctx.with_out(probe))
            branch = then if probe.count == 0 else otherwise
            if branch is not None:
                branch(instance, path, ctx)
        return step


class _Flagged(object):
    """Marks the errors about a mapping's keys (propertyNames)."""

    __slots__ = ('out',)

    def __init__(self, out):
        self.out = out

    def add(self, error):
        error.in_property_names = True
        self.out.add(error)

    def add_rooted(self, errors, prefix):
        self.out.add_rooted(errors, prefix)


class Checker(object):
    """A compiled schema; :meth:`errors` checks data against it."""

    def __init__(self, schema):
        self._check = _Compiler(schema).compile(schema)

    def errors(self, data, shared=frozenset(), cap=1000):
        """An :class:`Errors` of ``data``: the first ``cap`` in order."""
        out = Errors(cap)
        self._check(data, (), _Context(out, shared, {}, cap))
        return out


def compile(schema):
    """A :class:`Checker` of ``schema``, or None.

    None if the schema uses keywords this module does not implement: then
    use jsonschema.
    """
    try:
        return Checker(schema)
    except Unsupported:
        return None
