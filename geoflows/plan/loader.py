"""Read a YAML plan into plain data, remembering where each value was.

PyYAML's own loaders forget positions and silently keep the last of two
duplicate keys; an operator needs both to fix a plan quickly.
"""

import re

import yaml
from yaml import nodes


class Position(object):
    __slots__ = ('line', 'column')

    def __init__(self, line, column):
        self.line = line
        self.column = column

    def __repr__(self):
        return '%d:%d' % (self.line, self.column)


class Document(object):
    """Parsed plan data plus the position of every value and key, by path."""

    def __init__(self, data, positions, key_positions=None):
        self.data = data
        self._positions = positions
        self._key_positions = key_positions or {}

    def position(self, path, key=False):
        """Position of the value at ``path``, or of its key if ``key``.

        ``path`` is a tuple of keys and indexes.  Falls back to the closest
        enclosing value that has a position.
        """
        path = tuple(path)
        if key and path in self._key_positions:
            return self._key_positions[path]
        while path not in self._positions and path:
            path = path[:-1]
        return self._positions.get(path)


class LoadError(Exception):
    """The text is not YAML geoflows can read; ``position`` says where."""

    def __init__(self, message, position=None, path=()):
        self.message = message
        self.position = position
        self.path = path
        super().__init__(message)


def _position(mark):
    return Position(mark.line + 1, mark.column + 1)


class _Builder(yaml.SafeLoader):
    """Build Python data from a composed YAML node tree."""

    def build(self, node, path, positions, key_positions, ancestors=()):
        if any(node is ancestor for ancestor in ancestors):
            raise LoadError('recursive alias: this value contains itself',
                            _position(node.start_mark), path)
        ancestors = ancestors + (node,)
        positions[path] = _position(node.start_mark)
        if isinstance(node, nodes.MappingNode):
            own_keys = {}
            for key_node, _value in node.value:
                if not isinstance(key_node, nodes.ScalarNode):
                    raise LoadError('a mapping key must be a plain value',
                                    _position(key_node.start_mark), path)
                if key_node.tag == 'tag:yaml.org,2002:merge':
                    continue  # "<<": flattened below
                key = str(self.construct_object(key_node))
                if key in own_keys:
                    raise LoadError(
                        'duplicate key %r (first defined at line %d)'
                        % (key, own_keys[key].line),
                        _position(key_node.start_mark), path + (key,))
                own_keys[key] = _position(key_node.start_mark)
            # Merged keys come first; keys written here override them.
            self.flatten_mapping(node)
            result = {}
            for key_node, value_node in node.value:
                key = str(self.construct_object(key_node))
                key_positions[path + (key,)] = own_keys.get(
                    key, _position(key_node.start_mark))
                result[key] = self.build(value_node, path + (key,),
                                         positions, key_positions, ancestors)
            return result
        if isinstance(node, nodes.SequenceNode):
            return [self.build(item, path + (index,), positions,
                               key_positions, ancestors)
                    for index, item in enumerate(node.value)]
        return self.construct_object(node, deep=True)


# YAML 1.1 reads yes/no/on/off as booleans ("the Norway problem"); plans
# follow YAML 1.2, where only true and false are.
_Builder.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag != 'tag:yaml.org,2002:bool']
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Builder.add_implicit_resolver(
    'tag:yaml.org,2002:bool', re.compile(r'^(?:true|True|TRUE|false|False|'
                                         r'FALSE)$'), list('tTfF'))


def load(text, name='<plan>'):
    """Parse YAML ``text`` into a :class:`Document`."""
    try:
        loader = _Builder(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise LoadError('the file is empty', Position(1, 1))
            positions, key_positions = {}, {}
            data = loader.build(root, (), positions, key_positions)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        message = ' '.join(str(part) for part in (e.context, e.problem)
                           if part)
        raise LoadError('not valid YAML: %s' % message,
                        _position(mark) if mark else None)
    except yaml.YAMLError as e:
        raise LoadError('not valid YAML: %s' % e)
    return Document(data, positions, key_positions)
