"""Read a YAML plan into plain data, remembering where each value was.

PyYAML's own loaders forget positions and silently keep the last of two
duplicate keys; an operator needs both to fix a plan quickly.
"""

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
    """Parsed plan data plus the position of every value, by path."""

    def __init__(self, data, positions):
        self.data = data
        self._positions = positions

    def position(self, path):
        """Position of ``path`` (a tuple of keys and indexes), or of the
        closest enclosing value that has one."""
        path = tuple(path)
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

    def build(self, node, path, positions):
        positions[path] = _position(node.start_mark)
        if isinstance(node, nodes.MappingNode):
            self.flatten_mapping(node)  # resolves merge keys (<<)
            result = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, nodes.ScalarNode):
                    raise LoadError('a mapping key must be a plain value',
                                    _position(key_node.start_mark), path)
                key = self.construct_object(key_node)
                if not isinstance(key, str):
                    key = str(key)
                if key in result:
                    raise LoadError(
                        'duplicate key %r (first defined at line %s)'
                        % (key, positions[path + (key,)].line),
                        _position(key_node.start_mark), path + (key,))
                result[key] = self.build(value_node, path + (key,),
                                         positions)
            return result
        if isinstance(node, nodes.SequenceNode):
            return [self.build(item, path + (index,), positions)
                    for index, item in enumerate(node.value)]
        return self.construct_object(node, deep=True)


def load(text, name='<plan>'):
    """Parse YAML ``text`` into a :class:`Document`."""
    try:
        loader = _Builder(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise LoadError('the file is empty', Position(1, 1))
            positions = {}
            data = loader.build(root, (), positions)
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
    return Document(data, positions)
