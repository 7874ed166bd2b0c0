"""Fixture: a jobboard of its own on the machine's Redis.

Its keys carry a prefix unique to the test and are deleted afterwards.  The
test is skipped when Redis does not answer on 127.0.0.1:6379.
"""

import types
import uuid

import fixtures
import redis

HOST, PORT = '127.0.0.1', 6379


def group(name, claim_expiry=30, **changes):
    """A [jobboard] group as geoflows.jobboard reads it."""
    values = dict(backend='redis', hosts=['%s:%d' % (HOST, PORT)],
                  username=None, password=None, redis_db=0,
                  redis_sentinel=None, name=name, claim_expiry=claim_expiry,
                  submit=False)
    values.update(changes)
    return types.SimpleNamespace(**values)


class RedisBoard(fixtures.Fixture):
    """``self.name``: a board name (key prefix) no other test uses."""

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
        self.name = 'geoflows-test-%s' % uuid.uuid4().hex[:12]
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
        """Every value the board holds, as text (to look for secrets)."""
        values = []
        for key in self.keys():
            kind = self.client.type(key)
            if kind == b'hash':
                values.extend(self.client.hvals(key))
            elif kind == b'string':
                values.append(self.client.get(key))
        return b'\n'.join(values).decode('utf-8', 'replace')

    def _delete_keys(self):
        keys = self.keys()
        if keys:
            self.client.delete(*keys)


def use(test):
    """A RedisBoard for ``test``, or skip it."""
    reason = RedisBoard.unreachable()
    if reason:
        test.skipTest(reason)
    return test.useFixture(RedisBoard())
