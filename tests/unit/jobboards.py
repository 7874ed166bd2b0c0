"""Fixtures: a jobboard of its own, on Redis, ZooKeeper or etcd.

``RedisBoard`` uses the machine's Redis: its keys carry a prefix unique to
the test and are deleted afterwards.  ``ZooKeeperBoard`` and ``EtcdBoard``
start a server of their own (geoflows.testing.boards) on a free port of
127.0.0.1 and stop it afterwards.  ``use()`` skips the test when its
board's server is not there; the functional tests fail instead.

Each board gives the [jobboard] group (``group()``) and environment
(``env()``) that point geoflows at it, how many postings it holds and a
dump of every value it stores (to look for secrets).
"""

import types
import uuid

import fixtures
import redis

from geoflows.testing import boards

HOST, PORT = '127.0.0.1', 6379


def group(name, claim_expiry=30, **changes):
    """A [jobboard] group as geoflows.jobboard reads it (Redis)."""
    values = dict(backend='redis', hosts=['%s:%d' % (HOST, PORT)],
                  username=None, password=None, redis_db=0,
                  redis_sentinel=None, name=name, claim_expiry=claim_expiry,
                  submit=False)
    values.update(changes)
    return types.SimpleNamespace(**values)


class _Board(fixtures.Fixture):
    """``self.name``: a board name no other test uses."""

    backend = None
    hosts = None  # HOST:PORT of its server

    def group(self, claim_expiry=30):
        return group(self.name, claim_expiry, backend=self.backend,
                     hosts=[self.hosts])

    def env(self):
        """The environment that points geoflows at this board."""
        return {'OS_JOBBOARD__BACKEND': self.backend,
                'OS_JOBBOARD__HOSTS': self.hosts,
                'OS_JOBBOARD__NAME': self.name}

    def _new_name(self):
        self.name = 'geoflows-test-%s' % uuid.uuid4().hex[:12]


class RedisBoard(_Board):

    backend = 'redis'
    hosts = '%s:%d' % (HOST, PORT)

    @staticmethod
    def unreachable():
        client = redis.Redis(host=HOST, port=PORT, socket_timeout=2)
        try:
            client.ping()
        except redis.RedisError as e:
            return 'no Redis server on %s:%d: %s' % (HOST, PORT, e)
        finally:
            client.close()
        return None

    def _setUp(self):
        self._new_name()
        self.client = redis.Redis(host=HOST, port=PORT)
        self.addCleanup(self.client.close)
        self.addCleanup(self._delete_keys)

    def keys(self):
        return list(self.client.scan_iter(match=self.name + '*'))

    def postings(self):
        """How many postings are on the board (claimed or not)."""
        return sum(self.client.hlen(key) for key in self.keys()
                   if key.endswith(b'listings'))

    def dump(self):
        values = []
        for key in self.keys():
            kind = self.client.type(key)
            if kind == b'hash':
                values.extend(self.client.hvals(key))
            elif kind == b'string':
                values.append(self.client.get(key))
        return b'\n'.join(values).decode('utf-8', 'replace')

    def trashed(self):
        """How many postings were moved to the trash."""
        return sum(self.client.hlen(key) for key in self.keys()
                   if key.endswith(b'trash'))

    def _delete_keys(self):
        keys = self.keys()
        if keys:
            self.client.delete(*keys)


class _ServerBoard(_Board):
    """A board on a server this fixture starts (and stops)."""

    server_class = None

    @classmethod
    def unreachable(cls):
        return cls.server_class.missing()

    @property
    def hosts(self):
        return self.server.hosts

    def _setUp(self):
        self._new_name()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.server = self.server_class(tmp).start()
        self.addCleanup(self.server.stop)
        self._connect()


class ZooKeeperBoard(_ServerBoard):

    backend = 'zookeeper'
    server_class = boards.ZooKeeperServer

    def _connect(self):
        from kazoo import client as kazoo_client
        self.client = kazoo_client.KazooClient(hosts=self.hosts)
        self.client.start(timeout=15)
        self.addCleanup(self.client.close)
        self.addCleanup(self.client.stop)
        # Where geoflows.jobboard puts the board.
        self.path = '/geoflows/%s' % self.name

    def _nodes(self, path):
        if not self.client.exists(path):
            return []
        found = []
        for child in self.client.get_children(path):
            found.append('%s/%s' % (path, child))
            found.extend(self._nodes('%s/%s' % (path, child)))
        return found

    def postings(self):
        if not self.client.exists(self.path):
            return 0
        return sum(1 for child in self.client.get_children(self.path)
                   if child.startswith('job') and not child.endswith('.lock'))

    def trashed(self):
        # Taskflow puts it beside the board: the server is this test's.
        trash = self.path.rsplit('/', 1)[0] + '/.trash'
        if not self.client.exists(trash):
            return 0
        return len(self.client.get_children(trash))

    def dump(self):
        values = [self.client.get(node)[0] or b''
                  for node in self._nodes(self.path)]
        return b'\n'.join(values).decode('utf-8', 'replace')


class EtcdBoard(_ServerBoard):

    backend = 'etcd'
    server_class = boards.EtcdServer

    def _connect(self):
        import etcd3gw
        host, port = self.hosts.split(':')
        self.client = etcd3gw.Etcd3Client(host=host, port=int(port))
        # Where Taskflow's etcd board puts a board of this name.
        self.prefix = '/taskflow/jobs/%s/' % self.name

    def postings(self):
        return sum(1 for _value, meta in self.client.get_prefix(self.prefix)
                   if _text(meta['key']).endswith('.data'))

    def trashed(self):
        return sum(1 for _value in self.client.get_prefix(
            '/taskflow/.trash/%s/' % self.name))

    def dump(self):
        # The whole server is this test's: its trash too.
        values = [value for value, _meta in self.client.get_prefix('/')]
        return b'\n'.join(values).decode('utf-8', 'replace')


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


BOARDS = {board.backend: board
          for board in (RedisBoard, ZooKeeperBoard, EtcdBoard)}


def use(test, backend='redis'):
    """A board on ``backend`` for ``test``, or skip it."""
    board = BOARDS[backend]
    reason = board.unreachable()
    if reason:
        test.skipTest(reason)
    return test.useFixture(board())
