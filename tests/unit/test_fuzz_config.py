"""Property-based fuzzing of the other documents geoflows reads from users.

Configuration files and the values geoflows parses itself ([jobboard]
hosts, the [state] connection URL), pre-shared key files and the master
key file: whatever they hold gives a result or geoflows' own ConfigError
(never another exception), with a printable message that holds no
secret, in bounded time.  Budgets as in tests/unit/plan/test_fuzz.py
(GEOFLOWS_FUZZ_EXAMPLES for more).
"""

import os
import uuid

import fixtures
import hypothesis
from hypothesis import strategies as st

from geoflows import conf
from geoflows import exceptions
from geoflows import jobboard
from geoflows import secrets
from geoflows import store
from tests.unit import base
from tests.unit.plan import fuzz
from tests.unit.plan.test_fuzz import budget

HOSTILE_TEXT = st.lists(st.sampled_from(
    ['a', '1', ':', '[', ']', '/', '@', '?', '=', '&', '%', '.', ' ', '-',
     '\x00', '\n', '\t', '\x1b', '\ud800', '\u202e', 'é', '9' * 5000]),
    max_size=12).map(''.join)
VALUES = st.one_of(HOSTILE_TEXT, st.sampled_from(
    ['', '0', '-1', '1.5', 'true', 'yes', '9' * 5000, '0x10', '1e9',
     'redis', 'nope', '[a]', '%(state_dir)s', '$HOME', '\\', '"x"']))


def options():
    """(group, name) of every geoflows option."""
    from geoflows.conf import opts
    return [(group or 'DEFAULT', opt.dest) for group, group_opts in
            opts.GROUPS for opt in group_opts]


@st.composite
def config_files(draw):
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        group, name = draw(st.sampled_from(options()))
        lines.append('[%s]\n%s = %s\n' % (group, name, draw(VALUES)))
    data = ''.join(lines).encode('utf-8', 'surrogatepass')
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(
            fuzz.BAD_BYTES + [b'[', b'\n[DEFAULT', b'=', b'\x00', b'%('])) + \
            data[at:]
    return data


def assert_clear(test, error, *secret_values):
    message = str(error)
    test.assertIsInstance(error, exceptions.ConfigError)
    test.assertTrue(message.isprintable(), repr(message))
    test.assertLess(len(message), 2000)
    for value in secret_values:
        test.assertNotIn(value, message)


class TestConfigFiles(base.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(conf.CONF.reset)
        self.addCleanup(conf.CONF.clear)

    @budget(150)
    @hypothesis.given(config_files())
    def test_load(self, data):
        path = os.path.join(self.tmp, 'geoflows.conf')
        with open(path, 'wb') as f:
            f.write(data)
        result, seconds = fuzz.timed(conf.load, [path])
        self.assertLess(seconds, fuzz.MAX_SECONDS)
        if result is not conf.CONF:
            assert_clear(self, result)


class Board(object):
    backend = 'redis'
    redis_db = 0
    name = 'geoflows'
    username = password = redis_sentinel = None
    claim_expiry = 30

    def __init__(self, hosts):
        self.hosts = hosts


class TestParsedValues(base.TestCase):

    @budget(200)
    @hypothesis.given(st.lists(VALUES, max_size=3),
                      st.sampled_from(sorted(jobboard.DEFAULT_PORTS)))
    def test_jobboard_hosts(self, hosts, backend):
        board = Board(hosts)
        board.backend = backend
        result, seconds = fuzz.timed(jobboard.board_conf, board)
        self.assertLess(seconds, fuzz.MAX_SECONDS)
        if isinstance(result, Exception):
            assert_clear(self, result)
        else:
            self.assertEqual(backend, result[0])

    @budget(150)
    @hypothesis.given(st.sampled_from(
        ['postgresql+psycopg2', 'mysql+pymysql', 'postgresql', 'sqlite',
         'oracle', 'bogus', 'http', '', 'sqlite+pysqlite']),
        HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, st.booleans())
    def test_state_store_url(self, scheme, host, port, database, with_port):
        password = 'pw-%s' % uuid.uuid4().hex
        if scheme.startswith('sqlite'):
            # Never outside this test's directory: a valid URL makes it.
            url = '%s:///%s/%s' % (scheme, self.tmp, database or 'x')
        else:
            url = '%s://geoflows:%s@%s%s/%s' % (
                scheme, password, host, ':' + port if with_port else '',
                database)
        result, seconds = fuzz.timed(store.StateStore, url)
        self.assertLess(seconds, fuzz.MAX_SECONDS)
        if isinstance(result, store.StateStore):
            result.close()
        else:
            assert_clear(self, result, password)


@st.composite
def secret_files(draw):
    """What a key file may hold: a key, around it anything."""
    key = draw(st.sampled_from(['', 'k', 'key-%s' % uuid.uuid4().hex,
                                'x' * 5000]))
    head = draw(st.sampled_from([b'', b' ', b'\n', b'\r\n', b'\xef\xbb\xbf',
                                 b'\x00', b'\t']))
    tail = draw(st.sampled_from([b'', b'\n', b'\r\n', b'\nmore\n', b'\x00',
                                 b'\x1b[2J', b'\n' + b'z' * 10000]))
    data = head + key.encode() + tail
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(fuzz.BAD_BYTES + [
            b'\x00', b'\x7f', b'\x1b', b'\r', b'\n', b'\xc2\x85'])) + \
            data[at:]
    return key, data


class TestSecretFiles(base.TestCase):

    def setUp(self):
        super().setUp()
        self.resolver = secrets.SecretResolver(
            os.path.join(self.tmp, 'master.key'))

    @budget(150)
    @hypothesis.given(secret_files())
    def test_pre_shared_key_file(self, key_and_data):
        key, data = key_and_data
        path = os.path.join(self.tmp, 'psk')
        with open(path, 'wb') as f:
            f.write(data)
        result, seconds = fuzz.timed(self.resolver.resolve, {'file': path},
                                     'psk/plan/ic')
        self.assertLess(seconds, fuzz.MAX_SECONDS)
        if isinstance(result, str):
            self.assertTrue(result.isprintable(), repr(result))
            self.assertGreaterEqual(len(result), 8)
            self.assertLessEqual(len(result.encode()),
                                 secrets.MAX_SECRET_BYTES)
        else:
            # Nothing of the file's first line, the would-be key.
            first = data.split(b'\n', 1)[0].decode('utf-8', 'replace')
            assert_clear(self, result, *([first.strip()]
                                         if len(first.strip()) >= 8
                                         else []))

    @budget(100)
    @hypothesis.given(secret_files())
    def test_master_key_file(self, key_and_data):
        _key, data = key_and_data
        with open(self.resolver.master_key_file, 'wb') as f:
            f.write(data)
        resolver = secrets.SecretResolver(self.resolver.master_key_file)
        result, seconds = fuzz.timed(resolver.master_key)
        self.assertLess(seconds, fuzz.MAX_SECONDS)
        if isinstance(result, bytes):
            self.assertGreaterEqual(len(result), 32)
            value = resolver.resolve({'derive': True}, 'psk/plan/ic')
            self.assertTrue(value.isprintable())
        else:
            stripped = data.strip()
            assert_clear(self, result, *(
                [stripped.decode('utf-8', 'replace')]
                if len(stripped) >= 8 else []))

    @budget(100)
    @hypothesis.given(st.text(alphabet=st.characters(
        blacklist_characters='\x00', blacklist_categories=('Cs',)),
        max_size=40))
    def test_environment_variable(self, value):
        self.useFixture(fixtures.EnvironmentVariable('GF_FUZZ_PSK', value))
        result, _seconds = fuzz.timed(self.resolver.resolve,
                                      {'env': 'GF_FUZZ_PSK'}, 'psk/plan/ic')
        if isinstance(result, str):
            self.assertEqual(value, result)
            self.assertTrue(result.isprintable())
        else:
            assert_clear(self, result, *([value] if len(value) >= 8
                                         else []))
