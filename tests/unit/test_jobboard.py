"""Tests of geoflows.jobboard: configuration, postings."""

from taskflow.jobs.backends import impl_redis

from geoflows import exceptions
from geoflows import jobboard
from geoflows import jobs
from geoflows.testing import boards
from tests.unit import base
from tests.unit import jobboards


class TestBoardConf(base.TestCase):

    def test_redis(self):
        backend, conf = jobboard.board_conf(jobboards.group(
            'gf', hosts=['redis.example:6390'], password='s3cret',
            redis_db=2))
        self.assertEqual('redis', backend)
        self.assertEqual(('redis.example', 6390, 2, b'gf', 's3cret'), (
            conf['host'], conf['port'], conf['db'], conf['namespace'],
            conf['password']))
        self.assertNotIn('sentinel', conf)

    def test_redis_default_port_and_sentinels(self):
        _backend, conf = jobboard.board_conf(jobboards.group(
            'gf', hosts=['s1', 's2:26380', '[::1]'], redis_sentinel='main'))
        self.assertEqual(('s1', 6379), (conf['host'], conf['port']))
        self.assertEqual('main', conf['sentinel'])
        self.assertEqual(['s2:26380', '[::1]:6379'],
                         conf['sentinel_fallbacks'])

    def test_zookeeper_session_timeout_is_the_claim_expiry(self):
        backend, conf = jobboard.board_conf(jobboards.group(
            'gf', backend='zookeeper', hosts=['zk1', 'zk2:2182'],
            claim_expiry=12))
        self.assertEqual('zookeeper', backend)
        self.assertEqual('zk1:2181,zk2:2182', conf['hosts'])
        self.assertEqual('/geoflows/gf', conf['path'])
        self.assertEqual(12.0, conf['timeout'])

    def test_etcd_ttl_is_the_claim_expiry(self):
        backend, conf = jobboard.board_conf(jobboards.group(
            'gf', backend='etcd', hosts=['etcd'], claim_expiry=20))
        self.assertEqual(('etcd', 'etcd', 2379, 20), (
            backend, conf['host'], conf['port'], conf['ttl']))

    def test_empty_hosts(self):
        e = self.assertRaises(exceptions.ConfigError, jobboard.board_conf,
                              jobboards.group('gf', hosts=[' ']))
        self.assertIn('[jobboard] hosts is empty', str(e))

    def test_fetch_builds_taskflow_redis_board(self):
        board = jobboard.fetch(jobboards.group('gf'), 'me')
        self.assertIsInstance(board, impl_redis.RedisJobBoard)
        self.assertFalse(board.connected)

    def test_describe_never_shows_the_password(self):
        text = jobboard.describe(jobboards.group('gf', password='s3cret'))
        self.assertEqual("redis board 'gf' at 127.0.0.1:6379", text)

    def test_unreachable_board_names_the_fix(self):
        group = jobboards.group('gf', hosts=['127.0.0.1:1'])
        e = self.assertRaises(exceptions.ConfigError,
                              jobboard.connected(group, 'me').__enter__)
        self.assertIn("cannot reach the redis board 'gf' at 127.0.0.1:1",
                      str(e))
        self.assertIn('[jobboard] hosts', str(e))


class TestZooKeeperVersionCheck(base.CloudTestCase):

    def test_a_server_that_hides_its_version_names_the_setting(self):
        reason = boards.ZooKeeperServer.missing()
        if reason:
            self.skipTest(reason)
        # ZooKeeper's default: only "srvr" among the four-letter words.
        server = boards.ZooKeeperServer(self.tmp,
                                        four_letter_words=('ruok', 'srvr'))
        server.start()
        self.addCleanup(server.stop)
        group = jobboards.group('gf', backend='zookeeper',
                                hosts=[server.hosts])
        e = self.assertRaises(exceptions.ConfigError,
                              jobboard.connected(group, 'me').__enter__)
        self.assertIn("zookeeper board 'gf' at %s answers but does not tell "
                      "its version" % server.hosts, str(e))
        self.assertIn('4lw.commands.whitelist=srvr,envi', str(e))


class TestPostings(base.CloudTestCase):

    def test_post_and_read_back_on_redis(self):
        self._post_and_read_back('redis')

    def test_post_and_read_back_on_zookeeper(self):
        self._post_and_read_back('zookeeper')

    def test_post_and_read_back_on_etcd(self):
        self._post_and_read_back('etcd')

    def _post_and_read_back(self, backend):
        fixture = jobboards.use(self, backend)
        group = fixture.group()
        job_id = self.runner.create('interconnect.setup', base.make_plan(),
                                    ['vpn'])
        job = self.runner.get(job_id)
        with jobboard.connected(group, 'me', self.runner.backend) as board:
            jobboard.post(board, job, 'run')
        # Read back as a conductor does: another client of the board.
        with jobboard.connected(group, 'conductor',
                                self.runner.backend) as board:
            [posting] = list(board.iterjobs(ensure_fresh=True))
            self.assertEqual({'job_id': job_id, 'action': 'run',
                              'attempts': 0}, jobboard.posting_of(posting))
            self.assertEqual('run interconnect.setup of plan test',
                             posting.name)
            # The posting names the job's logbook, which holds its units.
            self.assertEqual(job_id, posting.book_uuid)
            self.assertEqual(['vpn'], [fd.name for fd in posting.book])
        self.assertEqual(1, fixture.postings())
        self.assertEqual(jobs.PENDING, self.runner.get(job_id).state)

    def test_unknown_action(self):
        self.assertRaises(ValueError, jobboard.post, None, None, 'explode')

    def test_foreign_details_are_not_a_posting(self):
        class Posting(object):
            details = {'geoflows': {'job_id': 'x', 'action': 'run'}}
        self.assertIsNone(jobboard.posting_of(Posting()))
        Posting.details = None
        self.assertIsNone(jobboard.posting_of(Posting()))
