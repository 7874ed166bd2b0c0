"""Hostile plans: generators and checks shared by the fuzz tests and the
figures (``python -m tests.unit.plan.fuzz_figures``).

A generator takes a *chooser*: an object with ``choice(sequence)``,
``integer(low, high)`` and ``boolean()``.  The fuzz tests pass one that
draws from hypothesis (which then shrinks what fails), the figures one
that draws from ``random.Random`` (fast, for many thousands of examples).

The plans are the example plans of ``etc/plans`` mutated with what broke
geoflows before, or might: alias bombs, deep nesting, tags that do not fit,
impossible dates, integers of thousands of digits, control characters,
lone surrogates, bytes that are not UTF-8, keys holding newlines, hundreds
of overlapping networks, and random YAML.
"""

import os
import random
import time

import yaml

from geoflows import exceptions
from geoflows import plan as plan_mod

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
PLANS_DIR = os.path.join(REPO, 'etc', 'plans')


def _read(name):
    with open(os.path.join(PLANS_DIR, name)) as f:
        return f.read()


EXAMPLES = [_read(name) for name in sorted(os.listdir(PLANS_DIR))
            if name.endswith('.yaml')]

_SAFE_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)

#: Each call's CPU time must stay below this (the target for plans of up
#: to 1 MiB; the generated plans are much smaller).
MAX_SECONDS = 2.0


class RandomChooser(object):
    """A chooser drawing from ``random.Random(seed)``."""

    def __init__(self, seed):
        self.random = random.Random(seed)

    def choice(self, sequence):
        return self.random.choice(sequence)

    def integer(self, low, high):
        return self.random.randint(low, high)

    def boolean(self):
        return self.random.random() < 0.5


# -- fragments ---------------------------------------------------------

BAD_VALUES = [
    '2024-02-30', '2024-13-01', '0000-01-01', '2024-01-01T25:61:00',
    '2024-01-01 10:00:00 +99:99', '2024-1-1T1:1:1.1234567890Z',
    '!!int "x"', '!!int ""', '!!int "0x"', '!!int "0b2"', '!!int "09"',
    '!!bool "y"', '!!bool ""', '!!timestamp "+"', '!!timestamp ""',
    '!!float "x"', '!!float ""', '!!null x', '!!binary "@@@"',
    '!!binary "\u00e9"', '!!str', '!!python/object/apply:os.system [ls]',
    '!!python/name:os.system', '!foo bar', '!<tag:x> y', '!!merge x',
    '!!set {a: null}', '!!omap [{a: 1}]', '!!pairs [[a, 1]]',
    '!!python/object/apply:os.system {args: [ls]}', '!!map [a]',
    '!!seq {a: 1}', '!!str [a]', '*undefined', '&a [*a]', '&b {k: *b}',
    '1e99999', '-1e99999', '.nan', '-.inf', '0x_', '1:2:3:4', '0o17',
    '1_000_000', '"\\ud800"', '"\\udfff x"', '"\\x00"', '"\\x1b[2J"',
    '"a\\nb"', '"\\u202e"', '"\\U0010ffff"', '"tail\\n"', '|\n  block\n',
    '~', '', '[]', '{}', '[[[[]]]]', '"' + 'x' * 3000 + '"', 'true',
    'yes', 'null', '-1', '0', '1.5', '10.1.0.0/33', '::/0', '0.0.0.0/0',
]

HUGE_INTS = [
    lambda n: '1' * n, lambda n: '-' + '9' * n, lambda n: '0x' + 'f' * n,
    lambda n: '0b' + '1' * n, lambda n: '0' + '7' * n,
    lambda n: ':'.join(['59'] * (n // 3 + 1)), lambda n: '1' + '_0' * n,
]

UNPRINTABLE = ['\x00', '\x01', '\x08', '\x0b', '\x0c', '\x1b', '\x7f',
               '\x80', '\x9b', '\ud800', '\udfff', '\ufffe', '\uffff',
               '\u2028', '\u2029', '\x85', '\ufeff', '\r', '\t']

BAD_BYTES = [b'\xff', b'\xfe\xff', b'\xc3', b'\xe2\x82', b'\xed\xa0\x80',
             b'\xf4\x90\x80\x80', b'\xc0\xaf', b'\x80', b'\xf8\x88\x80\x80',
             b'\xef\xbb\xbf']

BAD_KEYS = ['"a\\nb"', '"\\ud800"', '"paris\\n"', '"x\\r"', '"\\u202e"',
            '"\\x00"', '? [a, b]\n', '? {a: 1}\n', '<<', '!!int 1',
            '!!python/name:x y', '&k key', '*k', '2024-02-30', '~',
            '"' + 'k' * 500 + '"', '"tab\\tkey"', '"\\x1b[31m"', '[a]']

TOKENS = ['[', ']', '{', '}', ':', ': ', '- ', ',', '?', '|', '>', '#',
          '&a', '&b', '*a', '*b', '!!int', '!!str', '!!map', '!foo', '<<',
          '"', "'", '\\', '\n', '\n  ', '\n    ', '\t', ' ', '---', '...',
          '%YAML 1.1\n', '%TAG ! tag:x,2000:\n', 'version', 'name', 'sites',
          'interconnects', 'x', '1', '0x1f', '2024-02-30', '~', 'true',
          '\x00', '\ud800', '\u2028', 'é', '日本']


def alias_bomb(chooser):
    """Anchors of ``width`` aliases to the previous one, ``levels`` deep."""
    width = chooser.integer(2, 12)
    levels = chooser.integer(2, 9)
    indent = chooser.choice(['', '  ', '    '])
    flow = chooser.boolean()
    lines = ['%sb0: &b0 [%s]' % (indent, ', '.join(['x'] * width))]
    for level in range(1, levels):
        refs = ', '.join(['*b%d' % (level - 1)] * width)
        if flow or level == levels - 1:
            lines.append('%sb%d: &b%d [%s]' % (indent, level, level, refs))
        else:
            lines.append('%sb%d: &b%d {<<: [%s], k%d: 1}' % (
                indent, level, level,
                ', '.join(['{a%d: *b%d}' % (i, level - 1)
                           for i in range(width)]), level))
    return '\n'.join(lines) + '\n'


def deep(chooser):
    depth = chooser.choice([60, 64, 65, 66, 200, 999, 1001, 5000, 20000])
    kind = chooser.choice(['[', '{a: ', '- ', 'k:\n'])
    if kind == '[':
        return '[' * depth + ']' * depth
    if kind == '{a: ':
        return '{a: ' * depth + '1' + '}' * depth
    if kind == '- ':
        return '\n' + ''.join('  ' * i + '- \n' for i in range(
            min(depth, 300)))
    return '\n' + ''.join('  ' * i + 'k:\n' for i in range(min(depth, 300)))


def overlapping_networks(chooser):
    n = chooser.integer(2, 800)
    cidr = chooser.choice(['10.10.0.0/24', '10.0.0.0/8', '10.10.0.1/24',
                           'fd00::/64', '0.0.0.0/0'])
    same = chooser.boolean()
    items = []
    for i in range(n):
        name = 'net' if same else 'n%d' % i
        net = cidr if chooser.boolean() or i == 0 else '10.10.%d.0/24' % (
            i % 256)
        items.append('{name: %s, cidr: %s}' % (name, net))
    return '[%s]' % ', '.join(items)


def random_yaml(chooser):
    """Random tokens, or a random document dumped by PyYAML."""
    if chooser.boolean():
        return ''.join(chooser.choice(TOKENS)
                       for _ in range(chooser.integer(1, 60)))
    data = _random_data(chooser, 4)
    try:
        return yaml.safe_dump(data, default_flow_style=chooser.choice(
            [True, False, None]), allow_unicode=chooser.boolean())
    except yaml.YAMLError:
        return str(data)


def _random_data(chooser, depth):
    kind = chooser.integer(0, 6 if depth > 0 else 3)
    if kind == 0:
        return chooser.choice(['version', 'name', 'paris', 'x', 'é\x00',
                               'a\nb', '', '10.0.0.0/24', 'bgpvpn'])
    if kind == 1:
        return chooser.choice([0, 1, -1, 2 ** 64, 10 ** 100, 1.5, True])
    if kind == 2:
        return None
    if kind == 3:
        return chooser.choice(['ipsec', 'segments', 'l3', 'vlan'])
    if kind in (4, 5):
        return {_random_key(chooser): _random_data(chooser, depth - 1)
                for _ in range(chooser.integer(0, 4))}
    return [_random_data(chooser, depth - 1)
            for _ in range(chooser.integer(0, 4))]


def _random_key(chooser):
    return chooser.choice(['version', 'name', 'sites', 'interconnects',
                           'local', 'remote', 'overlay', 'type', 'cloud',
                           'networks', 'cidr', 'x', 'a\nb', '1'])


# -- mutations: each takes (chooser, lines) and returns lines ------------

def _line_index(chooser, lines):
    return chooser.integer(0, max(len(lines) - 1, 0))


def _value_lines(lines):
    return [i for i, line in enumerate(lines) if ': ' in line and
            not line.lstrip().startswith('#')]


def replace_value(chooser, lines):
    candidates = _value_lines(lines)
    if not candidates:
        return lines
    i = chooser.choice(candidates)
    line = lines[i]
    head = line[:line.index(': ') + 2]
    if chooser.integer(0, 4) == 0:
        value = chooser.choice(HUGE_INTS)(chooser.choice(
            [4290, 4300, 4301, 5000, 20000]))
    else:
        value = chooser.choice(BAD_VALUES)
    return lines[:i] + [head + value + '\n'] + lines[i + 1:]


def replace_key(chooser, lines):
    candidates = _value_lines(lines)
    if not candidates:
        return lines
    i = chooser.choice(candidates)
    line = lines[i]
    indent = line[:len(line) - len(line.lstrip())]
    rest = line[line.index(': '):]
    key = chooser.choice(BAD_KEYS)
    return lines[:i] + [indent + key + rest] + lines[i + 1:]


def insert_block(chooser, lines):
    i = _line_index(chooser, lines)
    block = chooser.choice([alias_bomb, lambda c: 'x: ' + deep(c) + '\n',
                            random_yaml])(chooser)
    return lines[:i] + [block if block.endswith('\n') else block + '\n'] + \
        lines[i:]


def bomb_value(chooser, lines):
    """Define a bomb at the top, use its last anchor as a value."""
    candidates = _value_lines(lines)
    if not candidates:
        return lines
    bomb = alias_bomb(RandomChooser(chooser.integer(0, 10 ** 6)))
    last = bomb.strip().splitlines()[-1].split('&')[1].split(' ')[0]
    i = chooser.choice(candidates)
    line = lines[i]
    head = line[:line.index(': ') + 2]
    return ['description: &top ' + '\n'] + [
        '  ' + x + '\n' for x in bomb.strip().splitlines()] + \
        lines[:i] + [head + '*' + last + '\n'] + lines[i + 1:]


def insert_character(chooser, lines):
    i = _line_index(chooser, lines)
    line = lines[i] if lines else ''
    at = chooser.integer(0, len(line))
    char = chooser.choice(UNPRINTABLE)
    return lines[:i] + [line[:at] + char + line[at:]] + lines[i + 1:]


def many_networks(chooser, lines):
    candidates = [i for i, line in enumerate(lines)
                  if line.strip().startswith('networks:')]
    if not candidates:
        return lines
    i = chooser.choice(candidates)
    head = lines[i][:lines[i].index('networks:') + len('networks:')]
    return lines[:i] + [head + ' ' + overlapping_networks(chooser) + '\n'] + \
        [line for line in lines[i + 1:]
         if not line.strip().startswith('- {name:')]


def unknown_sites(chooser, lines):
    n = chooser.integer(10, 400)
    sites = ''.join('  s%d: {cloud: telco}\n' % i for i in range(n))
    ics = ''.join('  - {name: i%d, local: {site: s%d, subnets: [a]}, remote: '
                  '{site: nowhere, subnets: [b]}, overlay: {type: bgpvpn}}\n'
                  % (i, i) for i in range(n))
    return ['version: 1\n', 'name: many\n', 'sites:\n', sites,
            'interconnects:\n', ics]


def delete_span(chooser, lines):
    if not lines:
        return lines
    i = _line_index(chooser, lines)
    line = lines[i]
    a = chooser.integer(0, len(line))
    b = chooser.integer(a, len(line))
    return lines[:i] + [line[:a] + line[b:]] + lines[i + 1:]


def duplicate_line(chooser, lines):
    if not lines:
        return lines
    i = _line_index(chooser, lines)
    return lines[:i + 1] + [lines[i]] + lines[i + 1:]


def swap_lines(chooser, lines):
    if len(lines) < 2:
        return lines
    i, j = _line_index(chooser, lines), _line_index(chooser, lines)
    lines = list(lines)
    lines[i], lines[j] = lines[j], lines[i]
    return lines


def append_random(chooser, lines):
    return lines + [random_yaml(chooser) + '\n']


MUTATIONS = [replace_value, replace_value, replace_key, insert_block,
             bomb_value, insert_character, many_networks, unknown_sites,
             delete_span, duplicate_line, swap_lines, append_random]


def hostile_text(chooser):
    """A mutated example plan (str)."""
    if chooser.integer(0, 9) == 0:
        return random_yaml(chooser)
    lines = chooser.choice(EXAMPLES).splitlines(keepends=True)
    for _ in range(chooser.integer(1, 4)):
        lines = chooser.choice(MUTATIONS)(chooser, lines)
    return ''.join(lines)


def hostile_bytes(chooser):
    """A hostile plan as bytes, sometimes with bytes that are not UTF-8."""
    data = hostile_text(chooser).encode('utf-8', 'surrogatepass')
    for _ in range(chooser.integer(0, 3)):
        at = chooser.integer(0, len(data))
        data = data[:at] + chooser.choice(BAD_BYTES) + data[at:]
    return data


def node_count(data, limit):
    """The nodes of plain ``data``, counted up to ``limit`` + 1."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return count


def hostile_data(chooser):
    """A hostile plan as plain data (what a Mistral action receives)."""
    return hostile_data_and_text(chooser)[1]


def hostile_data_and_text(chooser):
    """(the YAML text, the plain data loaded from it, then mutated)."""
    text = hostile_text(chooser)
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except (yaml.YAMLError, ValueError, KeyError, IndexError,
            AttributeError, TypeError, RecursionError):
        data = _random_data(chooser, 5)
    if isinstance(data, dict) and chooser.boolean():
        data = dict(data)
        data[chooser.choice(['description', 'name', 'version', 'sites'])] = \
            _random_data(chooser, 5)
    return text, data


# -- checks ------------------------------------------------------------

def lines_of(text):
    """How many lines ``text`` has, as the loader counts them.

    YAML's line breaks: LF, CR, NEL, LS and PS, as libyaml counts them.
    """
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    return len(plan_mod.loader._LINE_BREAK.findall(text)) + 1


def check_error(error, text=None, placed=True):
    """Assert what geoflows promises of a PlanError; return its lines.

    Every problem has a position within the text (unless ``placed`` is
    False: plain data has no lines), one printable line each, and there
    are at most MAX_PROBLEMS + 1 of them.
    """
    assert isinstance(error, exceptions.PlanError), repr(error)
    assert error.problems, 'a PlanError without problems'
    assert len(error.problems) <= plan_mod.MAX_PROBLEMS + 1, len(
        error.problems)
    lines = []
    for problem in error.problems:
        if placed:
            position = problem.position
            assert position is not None, problem
            assert position.line >= 1 and position.column >= 1, problem
            if text is not None:
                assert position.line <= lines_of(text) + 1, (position,
                                                             problem)
        line = problem.format(error.source)
        assert line.isprintable(), repr(line)
        line.encode('utf-8')
        record = problem.to_dict()
        assert isinstance(record['path'], str) and \
            record['path'].isprintable(), record
        assert record['message'].isprintable(), record
        lines.append(line)
    str(error).encode('utf-8')
    return lines


def timed(function, *args):
    """(result or exception, CPU seconds of this thread)."""
    started = time.thread_time()
    try:
        result = function(*args)
    except Exception as e:  # what is not a PlanError fails the check
        result = e
    return result, time.thread_time() - started


def check_parse(text, source='plan.yaml'):
    """Parse ``text``; assert the promises; return the outcome's name."""
    result, seconds = timed(plan_mod.parse, text, source)
    assert seconds < MAX_SECONDS, (seconds, len(text))
    if isinstance(result, plan_mod.Plan):
        assert result.digest.startswith('sha256:')
        return 'valid'
    check_error(result, text)
    return 'refused'
