"""Read a YAML plan into plain data, remembering where each value was.

PyYAML's own loaders forget positions and silently keep the last of two
duplicate keys; an operator needs both to fix a plan quickly.

A plan comes from people and from programs, so this loader also bounds what
it reads (:class:`Limits`, the ``[plan]`` options): the size of the text,
the number of values once aliases are expanded, and the nesting depth.
Whatever it refuses, a limit passed, text that is not UTF-8 or not
printable, a value whose conversion fails, a tag that does not belong, it
refuses with a :class:`LoadError` placed at the line and column where the
problem is.

Events come from libyaml when PyYAML has it (20 times faster than PyYAML's
own scanner), and are composed here in one pass into the data and a compact
tree of positions.  An alias gives the very object of its anchor (as
``yaml.safe_load`` does); each anchored value remembers how many values and
how many levels it holds, so an alias costs the same whatever it expands
to, and the budget is checked at the alias, before anything is expanded.
"""

import dataclasses
import re

import yaml
from yaml import events

try:
    from yaml.cyaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml: slower, same results
    _CParser = None

from geoflows.conf import opts

_YAML = 'tag:yaml.org,2002:'
MAP_TAG = _YAML + 'map'
SEQ_TAG = _YAML + 'seq'
STR_TAG = _YAML + 'str'
MERGE_TAG = _YAML + 'merge'

# Python refuses to convert integers of more digits to text (and back)
# since 3.11: such a value would break every message and the digest.
MAX_INT_DIGITS = 4300
_INT_LIMIT = 10 ** MAX_INT_DIGITS

# What YAML allows in a stream (YAML 1.1, 5.1): no C0 control character but
# tab and line breaks, no DEL, no C1 but NEL, no surrogate, no U+FFFE/FFFF.
_NON_PRINTABLE = re.compile('[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF'
                            '\uE000-\uFFFD\U00010000-\U0010FFFF]')
_LINE_BREAK = re.compile('\r\n|[\r\n\x85\u2028\u2029]')


@dataclasses.dataclass(frozen=True)
class Limits:
    """What the loader accepts (see the ``[plan]`` options)."""

    max_bytes: int = opts.PLAN_MAX_BYTES
    max_nodes: int = opts.PLAN_MAX_NODES
    max_depth: int = opts.PLAN_MAX_DEPTH

    @classmethod
    def from_config(cls, conf=None):
        """The ``[plan]`` limits of ``conf`` (default: geoflows' CONF).

        Without a loaded configuration these are the options' defaults.
        """
        if conf is None:
            from geoflows import conf as conf_mod
            conf = conf_mod.CONF
        try:
            group = conf.plan
            return cls(group.max_bytes, group.max_nodes, group.max_depth)
        except Exception:  # a ConfigOpts without geoflows' options
            return cls()


class Position(object):
    __slots__ = ('line', 'column')

    def __init__(self, line, column):
        self.line = line
        self.column = column

    def __repr__(self):
        return '%d:%d' % (self.line, self.column)

    def __eq__(self, other):
        return isinstance(other, Position) and (
            (self.line, self.column) == (other.line, other.column))

    def __hash__(self):
        return hash((self.line, self.column))


# Positions are kept packed in one int each (line << 32 | column): a plan of
# a million values keeps a million of them.
def _pack(line, column):
    return (line << 32) | column


def _unpack(packed):
    return Position(packed >> 32, packed & 0xFFFFFFFF)


def _mark(mark):
    return _pack(mark.line + 1, mark.column + 1)


class _MapPos(object):
    """Where a mapping is, and where each of its keys and values are.

    ``pairs``, for a mapping that merges others, is its merged list of
    (key, value, key position, value info), as a later merge of it needs.
    """
    __slots__ = ('pos', 'keys', 'values', 'pairs')

    def __init__(self, pos):
        self.pos = pos
        self.keys = {}
        self.values = {}
        self.pairs = None


class _SeqPos(object):
    __slots__ = ('pos', 'items')

    def __init__(self, pos):
        self.pos = pos
        self.items = []


class _AliasPos(object):
    """An alias: where it is written, and the positions of its anchor."""
    __slots__ = ('pos', 'target')

    def __init__(self, pos, target):
        self.pos = pos
        self.target = target


def _pos_of(info):
    return info if isinstance(info, int) else info.pos


class Document(object):
    """Parsed plan data plus the position of every value and key, by path.

    ``shared`` holds the ids of the mappings and lists that appear at more
    than one place (through aliases): a checker may check each only once.
    """

    def __init__(self, data, positions=None, key_positions=None, root=None,
                 shared=frozenset()):
        self.data = data
        self._positions = positions or {}
        self._key_positions = key_positions or {}
        self._root = root
        self.shared = shared

    def position(self, path, key=False):
        """Position of the value at ``path``, or of its key if ``key``.

        ``path`` is a tuple of keys and indexes.  Falls back to the closest
        enclosing value that has a position.  A value reached through an
        alias is placed where it is written, under its anchor; the alias
        itself, where the alias is.
        """
        path = tuple(path)
        if self._root is None:
            if key and path in self._key_positions:
                return self._key_positions[path]
            while path not in self._positions and path:
                path = path[:-1]
            return self._positions.get(path)
        info = self._root
        for i, part in enumerate(path):
            target = info.target if isinstance(info, _AliasPos) else info
            if isinstance(target, _MapPos) and isinstance(part, str) and \
                    part in target.values:
                if key and i == len(path) - 1:
                    return _unpack(target.keys[part])
                info = target.values[part]
            elif isinstance(target, _SeqPos) and isinstance(part, int) and \
                    0 <= part < len(target.items):
                info = target.items[part]
            else:
                break
        return _unpack(_pos_of(info))


class LoadError(Exception):
    """The text is not YAML geoflows can read; ``position`` says where."""

    def __init__(self, message, position=None, path=()):
        self.message = message
        self.position = position
        self.path = tuple(path)
        super().__init__(message)


def position_at(text, index):
    """The 1-based line and column of character ``index`` of ``text``.

    Lines end as YAML (and libyaml) end them: LF, CR LF, CR, NEL, LS, PS.
    """
    line, start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, index):
        line += 1
        start = match.end()
    return Position(line, index - start + 1)


def short_tag(tag):
    if tag.startswith(_YAML):
        return '!!' + tag[len(_YAML):]
    return tag


def decode(data, limits):
    """``data`` (bytes) as text, refusing what is too big or not UTF-8."""
    if len(data) > limits.max_bytes:
        prefix = bytes(data[:limits.max_bytes]).decode('utf-8', 'replace')
        raise LoadError(_too_big(limits), position_at(prefix, len(prefix)))
    try:
        return bytes(data).decode('utf-8')
    except UnicodeDecodeError as e:
        prefix = bytes(data[:e.start]).decode('utf-8')
        if e.reason == 'invalid start byte':
            why = 'byte 0x%02x cannot start a character' % data[e.start]
        else:  # cut short, overlong, a surrogate, past U+10FFFF
            why = 'the bytes from 0x%02x on are not a valid character' % (
                data[e.start])
        raise LoadError('not UTF-8 text: %s; a plan is UTF-8 text' % why,
                        position_at(prefix, len(prefix)))


def _too_big(limits):
    return ('the plan is larger than %d bytes, the limit of [plan] '
            'max_bytes; it passes the limit here' % limits.max_bytes)


def check_text(text, limits):
    """Refuse ``text`` if it is too big or holds what YAML does not allow."""
    if len(text) > limits.max_bytes or (
            len(text) * 4 > limits.max_bytes and
            len(text.encode('utf-8', 'surrogatepass')) > limits.max_bytes):
        prefix = text.encode('utf-8', 'surrogatepass')[:limits.max_bytes]
        cut = len(prefix.decode('utf-8', 'ignore'))
        raise LoadError(_too_big(limits), position_at(text, cut))
    bad = _NON_PRINTABLE.search(text)
    if bad:
        char = bad.group()
        if '\ud800' <= char <= '\udfff':
            why = ('a lone surrogate (U+%04X) is not a character; was the '
                   'text decoded from UTF-8?' % ord(char))
        else:
            why = ('character U+%04X is not allowed in YAML: no control '
                   'characters but tab and line breaks' % ord(char))
        raise LoadError(why, position_at(text, bad.start()))


class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner,
                yaml.parser.Parser):
    """PyYAML's own event parser, where libyaml is missing."""

    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


class _Resolver(yaml.resolver.BaseResolver):
    """Implicit tags of plain scalars: YAML 1.1, but 1.2 booleans.

    YAML 1.1 reads yes/no/on/off as booleans ("the Norway problem"); plans
    follow YAML 1.2, where only true and false are.
    """


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag != _YAML + 'bool']
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Resolver.add_implicit_resolver(
    _YAML + 'bool', re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$'),
    list('tTfF'))
_IMPLICIT = _Resolver.yaml_implicit_resolvers
_ANY_FIRST = _IMPLICIT.get(None, [])


def _resolve(value):
    """The tag of the plain scalar ``value``."""
    for tag, regexp in _IMPLICIT.get(value[:1], ()):
        if regexp.match(value):
            return tag
    for tag, regexp in _ANY_FIRST:
        if regexp.match(value):
            return tag
    return STR_TAG


class _Fail(Exception):
    """A conversion failed: ``why`` says how (placed by the caller)."""

    def __init__(self, why):
        self.why = why


def _int(value):
    text = value.replace('_', '')
    if len(text) > MAX_INT_DIGITS:
        raise _Fail('an integer of more than %d digits' % MAX_INT_DIGITS)
    sign = 1
    if text[:1] in ('-', '+'):
        sign = -1 if text[0] == '-' else 1
        text = text[1:]
    try:
        if text == '0':
            return 0
        if text.startswith('0b'):
            number = int(text[2:], 2)
        elif text.startswith('0x'):
            number = int(text[2:], 16)
        elif text[:1] == '0':
            number = int(text, 8)
        elif ':' in text:
            number = 0
            for part in text.split(':'):
                number = number * 60 + int(part)
        else:
            number = int(text)
    except ValueError:
        raise _Fail('not an integer')
    if number >= _INT_LIMIT:
        raise _Fail('an integer of more than %d digits' % MAX_INT_DIGITS)
    return sign * number


# PyYAML's own conversions, on an instance of its safe constructor (they
# keep no state): the same values as yaml.safe_load for what they accept.
_SAFE = yaml.constructor.SafeConstructor()


def _with(method, what):
    def construct(value):
        try:
            return method(yaml.ScalarNode(None, value))
        except (ValueError, KeyError, IndexError, AttributeError, TypeError,
                ArithmeticError, UnicodeError,
                yaml.constructor.ConstructorError) as e:
            reason = getattr(e, 'problem', None) or str(e)
            raise _Fail('%s (%s)' % (what, reason) if reason and
                        not isinstance(e, (KeyError, IndexError,
                                           AttributeError)) else what)
    return construct


_float = _with(_SAFE.construct_yaml_float, 'not a number')
_bool = _with(_SAFE.construct_yaml_bool, 'not a boolean')
_null = _with(_SAFE.construct_yaml_null, 'not null')
_timestamp = _with(_SAFE.construct_yaml_timestamp,
                   'not a date (YYYY-MM-DD) or a timestamp')
_binary = _with(_SAFE.construct_yaml_binary, 'not base64')


_SCALARS = {
    STR_TAG: str,
    _YAML + 'int': _int,
    _YAML + 'float': _float,
    _YAML + 'bool': _bool,
    _YAML + 'null': _null,
    _YAML + 'timestamp': _timestamp,
    _YAML + 'binary': _binary,
}


_NO_KEY = object()  # node() of a value that is not in a mapping or list
_ALIAS_EVENT = events.AliasEvent
_SCALAR_EVENT = events.ScalarEvent


def _path(parent, key):
    return parent if key is _NO_KEY else parent + (key,)


class _Anchor(object):
    __slots__ = ('data', 'info', 'size', 'height', 'done', 'pos')

    def __init__(self, pos):
        self.pos = pos
        self.done = False


class _Composer(object):
    """Compose parser events into (data, positions), within ``limits``."""

    def __init__(self, parser, limits):
        self.parser = parser
        self.max_nodes = limits.max_nodes
        self.max_depth = limits.max_depth
        self.anchors = {}
        self.nodes = 0
        self.shared = set()

    # Each compose_* returns (data, position info, size, height): size is
    # the number of values the node stands for once aliases are expanded
    # (a mapping counts itself, its keys and its values), height the
    # levels of mappings and lists it holds.

    def document(self):
        parser = self.parser
        parser.get_event()  # StreamStartEvent
        if parser.check_event(events.StreamEndEvent):
            return None
        parser.get_event()  # DocumentStartEvent
        root = self.node(0, ())
        parser.get_event()  # DocumentEndEvent
        if not parser.check_event(events.StreamEndEvent):
            event = parser.get_event()
            raise LoadError('not valid YAML: expected a single document in '
                            'the stream but found another document',
                            _unpack(_mark(event.start_mark)))
        return root

    def _count(self, n, pos, alias=False):
        self.nodes += n
        if self.nodes > self.max_nodes:
            raise LoadError(
                'the plan holds more than %d values once its aliases are '
                'expanded, the limit of [plan] max_nodes; %s' % (
                    self.max_nodes,
                    'this alias brings it past the limit' if alias else
                    'it passes the limit here'), _unpack(pos))

    # node() is the hot loop of the loader (once per value of the plan):
    # the path of a value is only built for a mapping or a list (its items
    # need it) or for an error, and an alias takes the shortest way.

    def node(self, depth, parent, key=_NO_KEY):
        event = self.parser.get_event()
        mark = event.start_mark
        pos = ((mark.line + 1) << 32) | (mark.column + 1)
        if event.__class__ is _ALIAS_EVENT:
            anchor = self.anchors.get(event.anchor)
            if anchor is not None and anchor.done and \
                    depth + anchor.height <= self.max_depth:
                self.nodes += anchor.size
                if self.nodes > self.max_nodes:
                    self._count(0, pos, alias=True)
                data = anchor.data
                if data.__class__ in (dict, list):
                    self.shared.add(id(data))
                return (data, _AliasPos(pos, anchor.info), anchor.size,
                        anchor.height)
            return self.alias(event, pos, depth, _path(parent, key))
        anchor = None
        if event.anchor is not None:
            if event.anchor in self.anchors:
                raise LoadError(
                    'not valid YAML: found duplicate anchor %r (first '
                    'defined at line %d)' % (
                        event.anchor,
                        _unpack(self.anchors[event.anchor].pos).line),
                    _unpack(pos), _path(parent, key))
            anchor = self.anchors[event.anchor] = _Anchor(pos)
        if event.__class__ is _SCALAR_EVENT:
            self.nodes += 1
            if self.nodes > self.max_nodes:
                self._count(0, pos)
            result = (self.scalar(event, pos, parent, key), pos, 1, 0)
        else:
            path = _path(parent, key)
            if depth + 1 > self.max_depth:
                raise LoadError(
                    'the plan nests mappings and lists deeper than %d '
                    'levels, the limit of [plan] max_depth; it passes the '
                    'limit here' % self.max_depth, _unpack(pos), path)
            self._count(1, pos)
            tag = event.tag
            if isinstance(event, events.SequenceStartEvent):
                expected = SEQ_TAG
                what = 'list'
            else:
                expected = MAP_TAG
                what = 'mapping'
            if tag not in (None, '!', expected):
                raise LoadError(
                    'the tag %r is not allowed: a %s in a plan takes no '
                    'tag' % (short_tag(tag), what), _unpack(pos), path)
            if expected == SEQ_TAG:
                result = self.sequence(pos, depth + 1, path)
            else:
                result = self.mapping(pos, depth + 1, path)
        if anchor is not None:
            anchor.data, anchor.info, anchor.size, anchor.height = result
            anchor.done = True
        return result

    def alias(self, event, pos, depth, path):
        """An alias that cannot be taken: say why."""
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            raise LoadError('not valid YAML: found undefined alias %r'
                            % event.anchor, _unpack(pos), path)
        if not anchor.done:
            where = _unpack(anchor.pos)
            raise LoadError(
                'recursive alias: *%s is inside the value it names '
                '(anchored at line %d, column %d)' % (
                    event.anchor, where.line, where.column),
                _unpack(pos), path)
        raise LoadError(
            'the plan nests mappings and lists deeper than %d levels '
            'once this alias is expanded, the limit of [plan] '
            'max_depth' % self.max_depth, _unpack(pos), path)

    def scalar(self, event, pos, parent, key):
        tag = event.tag
        if tag is None or tag == '!':
            tag = _resolve(event.value) if event.implicit[0] else STR_TAG
        construct = _SCALARS.get(tag)
        if construct is None:
            if tag == MERGE_TAG:
                why = 'the merge key "<<" is only allowed as a key'
            else:
                why = 'could not determine a constructor for the tag %r' % (
                    short_tag(tag))
            raise LoadError('not valid YAML: %s' % why, _unpack(pos),
                            _path(parent, key))
        try:
            return construct(event.value)
        except _Fail as e:
            raise LoadError('cannot read %s as %s: %s' % (
                _show(event.value), short_tag(tag), e.why),
                _unpack(pos), _path(parent, key))

    def sequence(self, pos, depth, path):
        parser = self.parser
        data, info = [], _SeqPos(pos)
        size, height = 1, 1
        while not parser.check_event(events.SequenceEndEvent):
            item, item_info, item_size, item_height = self.node(
                depth, path, len(data))
            data.append(item)
            info.items.append(item_info)
            size += item_size
            height = max(height, item_height + 1)
        parser.get_event()
        return data, info, size, height

    def mapping(self, pos, depth, path):
        parser = self.parser
        own, own_info = {}, {}
        merged = []  # per "<<" key, the (data, info) of what it brings
        size, height = 1, 1
        while not parser.check_event(events.MappingEndEvent):
            key_event = parser.peek_event()
            key_pos = _mark(key_event.start_mark)
            if _is_merge_key(key_event):
                parser.get_event()
                self._count(1, key_pos)
                value, value_info, value_size, value_height = self.node(
                    depth, path)
                merged.append(self._merge_sources(value, value_info,
                                                  key_pos, path))
                size += 1 + value_size
                height = max(height, value_height)
                continue
            key = self._key(depth, path)
            if key in own:
                raise LoadError(
                    'duplicate key %r (first defined at line %d)' % (
                        key, _unpack(own_info[key][0]).line),
                    _unpack(key_pos), path + (key,))
            value, value_info, value_size, value_height = self.node(
                depth, path, key)
            own[key] = value
            own_info[key] = (key_pos, value_info)
            size += 1 + value_size
            height = max(height, value_height + 1)
        parser.get_event()
        info = _MapPos(pos)
        if not merged:
            for key, (key_pos, value_info) in own_info.items():
                info.keys[key] = key_pos
                info.values[key] = value_info
            return own, info, size, height
        # As PyYAML (6.0), whose results plans must keep: the pairs of the
        # merged mappings come first, in the order of the "<<" keys and of
        # the mappings they list, each mapping with the pairs it merged
        # itself; a pair whose key is the very same object as one taken
        # before is skipped (so the first wins when one mapping is merged
        # twice), one whose key is only equal overrides its value; the
        # keys written here come last, and override them all.
        pairs = []
        taken = set()
        for sources in merged:
            for source, source_info in sources:
                for entry in _pairs(source, source_info):
                    if id(entry[0]) not in taken:
                        taken.add(id(entry[0]))
                        pairs.append(entry)
        pairs.extend((key, value) + own_info[key]
                     for key, value in own.items())
        data = {}
        for key, value, key_pos, value_info in pairs:
            data[key] = value
            info.keys[key] = key_pos
            info.values[key] = value_info
        info.pairs = pairs
        return data, info, size, height

    def _merge_sources(self, value, value_info, key_pos, path):
        target = (value_info.target if isinstance(value_info, _AliasPos)
                  else value_info)
        if isinstance(value, dict):
            return [(value, target)]
        if isinstance(value, list):
            sources = []
            for item, item_info in zip(value, target.items):
                item_target = (item_info.target
                               if isinstance(item_info, _AliasPos)
                               else item_info)
                if not isinstance(item, dict):
                    raise LoadError(
                        'not valid YAML: a merge key "<<" takes a mapping '
                        'or a list of mappings, not a list holding %s' % (
                            _kind(item)), _unpack(_pos_of(item_info)), path)
                sources.append((item, item_target))
            return sources
        raise LoadError('not valid YAML: a merge key "<<" takes a mapping or '
                        'a list of mappings, not %s' % _kind(value),
                        _unpack(_pos_of(value_info)), path)

    def _key(self, depth, path):
        event = self.parser.peek_event()
        pos = _mark(event.start_mark)
        if isinstance(event, events.AliasEvent):
            anchor = self.anchors.get(event.anchor)
            plain = anchor is None or not anchor.done or not isinstance(
                anchor.data, (dict, list))
        else:
            plain = isinstance(event, events.ScalarEvent)
        if not plain:
            raise LoadError('a mapping key must be a plain value',
                            _unpack(pos), path)
        data, _info, _size, _height = self.node(depth, path)
        return _key_text(data)


def _is_merge_key(event):
    if not isinstance(event, events.ScalarEvent):
        return False
    if event.tag == MERGE_TAG:
        return True
    return event.tag is None and event.implicit[0] and event.value == '<<'


def _pairs(data, info):
    """The (key, value, key position, value info) of a merged mapping."""
    if info.pairs is not None:
        return info.pairs
    return [(key, value, info.keys[key], info.values[key])
            for key, value in data.items()]


def _key_text(value):
    return value if isinstance(value, str) else str(value)


def _kind(value):
    return {dict: 'a mapping', list: 'a list', str: 'a string'}.get(
        type(value), 'a plain value')


def _show(value, limit=40):
    """A scalar's text for a message: quoted, escaped, cut if long."""
    if len(value) > limit:
        return '%r... (%d characters)' % (value[:limit], len(value))
    return repr(value)


def _yaml_error(e, text):
    """A LoadError, placed, from a PyYAML or libyaml error."""
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        message = ' '.join(str(part) for part in (e.context, e.problem)
                           if part)
        position = (_unpack(_mark(mark)) if mark is not None
                    else Position(1, 1))
        return LoadError('not valid YAML: %s' % message, position)
    if isinstance(e, yaml.reader.ReaderError):
        return LoadError('not valid YAML: %s' % e.reason,
                         position_at(text, min(e.position, len(text))))
    return LoadError('not valid YAML: %s' % e, Position(1, 1))


def load(text, name='<plan>', limits=None):
    """Parse YAML ``text`` (str or UTF-8 bytes) into a :class:`Document`.

    ``limits`` (a :class:`Limits`) defaults to the ``[plan]`` options.
    """
    limits = limits or Limits.from_config()
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = decode(bytes(text), limits)
    check_text(text, limits)
    parser = (_CParser or _PyParser)(text)
    composer = _Composer(parser, limits)
    try:
        try:
            root = composer.document()
        finally:
            if hasattr(parser, 'dispose'):
                parser.dispose()
    except yaml.YAMLError as e:
        raise _yaml_error(e, text)
    except UnicodeError as e:  # what the pre-check missed, if ever
        raise LoadError('not valid YAML: %s' % e, Position(1, 1))
    if root is None:
        raise LoadError('the file is empty', Position(1, 1))
    data, info, _size, _height = root
    return Document(data, root=info, shared=frozenset(composer.shared))


def read(path, limits=None):
    """The UTF-8 text of the plan file at ``path``, within ``limits``.

    Raises OSError if it cannot be read, LoadError if it is too big or not
    UTF-8.
    """
    limits = limits or Limits.from_config()
    with open(path, 'rb') as f:
        data = f.read(limits.max_bytes + 1)
    return decode(data, limits)


# -- plain data (a mapping given to a Mistral action or the Python API) ----

_SCALAR_TYPES = (str, int, float, bool, type(None))


def from_data(data, limits=None):
    """Check plain ``data`` as the loader checks text; a :class:`Document`.

    Mappings with string keys, lists, strings, numbers, booleans and null
    only; no cycle; within ``limits`` once shared values are counted at
    each place they appear.  Problems are placed by path only (plain data
    has no lines).
    """
    limits = limits or Limits.from_config()
    checker = _DataChecker(limits)
    checker.check(data, (), 1)
    return Document(data, shared=frozenset(checker.shared))


class _DataChecker(object):

    def __init__(self, limits):
        self.limits = limits
        self.nodes = 0
        self.sizes = {}  # id of a mapping or list -> (size, height)
        self.active = set()
        self.shared = set()
        self.keep = []  # the objects whose ids are in sizes stay alive

    def _count(self, n, path):
        self.nodes += n
        if self.nodes > self.limits.max_nodes:
            raise LoadError(
                'the plan holds more than %d values, the limit of [plan] '
                'max_nodes' % self.limits.max_nodes, None, path)

    def check(self, value, path, depth):
        """(size, height) of ``value``, checked."""
        if isinstance(value, bool) or value is None or \
                isinstance(value, (str, float)):
            self._count(1, path)
            return 1, 0
        if isinstance(value, int):
            if abs(value) >= _INT_LIMIT:
                raise LoadError('an integer of more than %d digits'
                                % MAX_INT_DIGITS, None, path)
            self._count(1, path)
            return 1, 0
        if not isinstance(value, (dict, list)):
            raise LoadError(
                'a plan holds mappings, lists, strings, numbers, booleans '
                'and null, not %s' % type(value).__name__, None, path)
        key = id(value)
        if key in self.active:
            raise LoadError('this value contains itself', None, path)
        if key in self.sizes:
            size, height = self.sizes[key]
            if depth - 1 + height > self.limits.max_depth:
                raise LoadError(
                    'the plan nests mappings and lists deeper than %d '
                    'levels, the limit of [plan] max_depth'
                    % self.limits.max_depth, None, path)
            self.shared.add(key)
            self._count(size, path)
            return size, height
        if depth > self.limits.max_depth:
            raise LoadError(
                'the plan nests mappings and lists deeper than %d levels, '
                'the limit of [plan] max_depth' % self.limits.max_depth,
                None, path)
        self._count(1, path)
        self.active.add(key)
        size, height = 1, 1
        if isinstance(value, dict):
            for k, item in value.items():
                if not isinstance(k, str):
                    raise LoadError(
                        'a key of a mapping is a string, not %s (%s)' % (
                            type(k).__name__, _show(str(k))), None, path)
                self._count(1, path)
                item_size, item_height = self.check(item, path + (k,),
                                                    depth + 1)
                size += 1 + item_size
                height = max(height, item_height + 1)
        else:
            for i, item in enumerate(value):
                item_size, item_height = self.check(item, path + (i,),
                                                    depth + 1)
                size += item_size
                height = max(height, item_height + 1)
        self.active.discard(key)
        self.sizes[key] = (size, height)
        self.keep.append(value)
        return size, height
