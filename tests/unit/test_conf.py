"""Configuration: what geoflows reads, and what it parses itself.

Whatever a configuration file or value holds gives a ConfigError naming
the file or the option, never a traceback, and never a secret's value.
"""

import os

from geoflows import conf
from geoflows import exceptions
from geoflows import jobboard
from geoflows import store
from tests.unit import base


class ConfigTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(conf.CONF.reset)
        self.addCleanup(conf.CONF.clear)

    def write(self, content):
        path = os.path.join(self.tmp, 'geoflows.conf')
        with open(path, 'wb') as f:
            f.write(content)
        return path

    def load_error(self, content):
        return str(self.assertRaises(exceptions.ConfigError, conf.load,
                                     [self.write(content)]))


class TestConfigFiles(ConfigTestCase):

    def test_a_file_that_is_not_utf8_is_placed(self):
        message = self.load_error(b'[DEFAULT]\nstate_dir = caf\xe9\n')
        self.assertIn('geoflows.conf:2:16: not UTF-8 text (byte 0xe9)',
                      message)

    def test_a_syntax_error_names_the_file_and_line(self):
        message = self.load_error(b'[DEFAULT\n')
        self.assertIn('geoflows.conf:1', message)

    def test_a_bad_value_is_reported_at_load(self):
        message = self.load_error(b'[runner]\nmax_parallel_units = many\n')
        self.assertIn('configuration: [runner] max_parallel_units:',
                      message)

    def test_an_integer_past_4300_digits(self):
        message = self.load_error(b'[plan]\nmax_nodes = ' + b'9' * 5000 +
                                  b'\n')
        self.assertIn('[plan] max_nodes', message)

    def test_a_limit_out_of_range(self):
        self.assertIn('[plan] max_depth', self.load_error(
            b'[plan]\nmax_depth = 100000\n'))

    def test_a_valid_file_loads(self):
        loaded = conf.load([self.write(b'[plan]\nmax_bytes = 65536\n')])
        self.assertEqual(65536, loaded.plan.max_bytes)


class Board(object):
    backend = 'redis'
    redis_db = 0
    name = 'geoflows'
    username = password = redis_sentinel = None
    claim_expiry = 30

    def __init__(self, *hosts):
        self.hosts = list(hosts)


class TestJobboardHosts(base.TestCase):

    def test_valid_hosts(self):
        self.assertEqual(('redis.example.net', 6380), (
            lambda c: (c['host'], c['port']))(jobboard.board_conf(
                Board('redis.example.net:6380'))[1]))
        self.assertEqual(6379, jobboard.board_conf(Board('[::1]'))[1]['port'])

    def test_hosts_that_are_not_host_port(self):
        for value in ('redis:port', '[::1', 'redis:99999', 'redis:0',
                      'redis:-1', ':6379', 'redis:' + '9' * 5000,
                      'red\x1bis:6379'):
            error = self.assertRaises(exceptions.ConfigError,
                                      jobboard.board_conf, Board(value))
            self.assertIn('[jobboard] hosts:', str(error))
            self.assertTrue(str(error).isprintable())
            self.assertLess(len(str(error)), 300)


class TestStateStoreUrl(base.TestCase):

    def test_a_port_that_is_not_a_number(self):
        error = self.assertRaises(
            exceptions.ConfigError, store.StateStore,
            'postgresql+psycopg2://geoflows:hunter2-secret@db:port/geoflows')
        self.assertIn('is not a SQLAlchemy URL', str(error))
        self.assertNotIn('hunter2', str(error))

    def test_a_nul_in_a_sqlite_path(self):
        error = self.assertRaises(exceptions.ConfigError, store.StateStore,
                                  'sqlite:///state\x00.sqlite')
        self.assertIn('NUL', str(error))
