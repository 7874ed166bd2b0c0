"""ZooKeeper and etcd servers of their own, for jobboard tests.

The conductors run on a Taskflow jobboard: Redis (the machine's), or
ZooKeeper or etcd, which these classes start from the machine's Debian
packages (``zookeeperd``, ``etcd-server``; ``tools/run-tests.sh`` installs
them) on 127.0.0.1, on free ports, with a data directory of their own, and
stop afterwards, leaving nothing behind::

    with ZooKeeperServer(tmp_dir) as zk:
        ...  # zk.hosts == '127.0.0.1:PORT'

Each is a single-member ensemble/cluster: enough to exercise claims, their
expiry and a conductor's death; a production board has three or five.
"""

import abc
import os
import shutil
import signal
import socket
import time
import urllib.request

from geoflows.testing.minicloud import process

ZOOKEEPER_JARS = ('/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar')
ZOOKEEPER_MAIN = 'org.apache.zookeeper.server.ZooKeeperServerMain'
ETCD = '/usr/bin/etcd'

ZOO_CFG = """\
tickTime={tick_ms}
dataDir={data}
clientPort={port}
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist={four_letter_words}
# Sessions (and so ZooKeeper claims) may be as short as the tests want.
minSessionTimeout={min_session_ms}
maxSessionTimeout=600000
"""


class _Server(object, metaclass=abc.ABCMeta):
    """A server process in its own session, its files under ``home``."""

    kind = 'server'

    def __init__(self, home):
        self.home = os.path.join(home, self.kind)
        self.port = None
        self.pid = None

    @classmethod
    @abc.abstractmethod
    def missing(cls):
        """Why the server cannot start here, or None."""

    @abc.abstractmethod
    def _argv(self):
        """The command line that starts the server."""

    @abc.abstractmethod
    def _ready(self):
        """Whether the server answers."""

    @property
    def hosts(self):
        """The [jobboard] hosts value of this server."""
        return '127.0.0.1:%d' % self.port

    @property
    def log_file(self):
        return os.path.join(self.home, '%s.log' % self.kind)

    def start(self, timeout=60):
        reason = self.missing()
        if reason:
            raise process.ServiceError(reason)
        shutil.rmtree(self.home, ignore_errors=True)
        os.makedirs(os.path.join(self.home, 'data'))
        self.port = process.free_port()
        self.pid = process.spawn(self._argv(), self.log_file)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if not process.is_alive(self.pid, ''):
                raise process.ServiceError(
                    '%s exited during start-up; last lines of %s:\n%s' % (
                        self.kind, self.log_file,
                        process.tail(self.log_file)))
            if time.monotonic() > deadline:
                self.stop()
                raise process.ServiceError('%s did not answer on %s within '
                                           '%ds' % (self.kind, self.hosts,
                                                    timeout))
            time.sleep(0.1)
        return self

    def stop(self):
        """Kill the server and remove its files."""
        if self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:  # not our child (another process)
                while process.is_alive(self.pid, ''):
                    time.sleep(0.05)
            self.pid = None
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class ZooKeeperServer(_Server):
    """A standalone ZooKeeper (Debian's zookeeper package)."""

    kind = 'zookeeper'

    # Taskflow's board asks the server's version with "envi" (see
    # geoflows.jobboard); ZooKeeper allows only "srvr" unless told.
    FOUR_LETTER_WORDS = ('ruok', 'srvr', 'envi')

    def __init__(self, home, tick_ms=200,
                 four_letter_words=FOUR_LETTER_WORDS):
        super().__init__(home)
        # A session lasts at least 2 ticks: the short tick lets a claim
        # expire in seconds, as the tests' claims do.
        self.tick_ms = tick_ms
        self.four_letter_words = four_letter_words

    @classmethod
    def missing(cls):
        if not shutil.which('java'):
            return ('java is not installed; ZooKeeper needs it (Debian: apt '
                    'install zookeeperd)')
        if not os.path.exists(ZOOKEEPER_JARS[1]):
            return ('ZooKeeper is not installed (%s is missing; Debian: apt '
                    'install zookeeperd)' % ZOOKEEPER_JARS[1])
        return None

    def _argv(self):
        config = os.path.join(self.home, 'zoo.cfg')
        with open(config, 'w') as f:
            f.write(ZOO_CFG.format(tick_ms=self.tick_ms,
                                   data=os.path.join(self.home, 'data'),
                                   port=self.port,
                                   min_session_ms=2 * self.tick_ms,
                                   four_letter_words=','.join(
                                       self.four_letter_words)))
        return ['java', '-Xmx256m', '-Dzookeeper.log.dir=%s' % self.home,
                '-Dzookeeper.root.logger=INFO,CONSOLE',
                '-cp', ':'.join(ZOOKEEPER_JARS), ZOOKEEPER_MAIN, config]

    def _ready(self):
        try:
            with socket.create_connection(('127.0.0.1', self.port),
                                          timeout=1) as s:
                s.sendall(b'ruok')
                return s.recv(4) == b'imok'
        except OSError:
            return False


class EtcdServer(_Server):
    """A single-member etcd cluster (Debian's etcd-server package)."""

    kind = 'etcd'

    @classmethod
    def missing(cls):
        if not os.path.exists(ETCD):
            return 'etcd is not installed (Debian: apt install etcd-server)'
        return None

    def _argv(self):
        client = 'http://127.0.0.1:%d' % self.port
        peer = 'http://127.0.0.1:%d' % process.free_port()
        return [ETCD, '--name', 'geoflows-test',
                '--data-dir', os.path.join(self.home, 'data'),
                '--listen-client-urls', client,
                '--advertise-client-urls', client,
                '--listen-peer-urls', peer,
                '--initial-advertise-peer-urls', peer,
                '--initial-cluster', 'geoflows-test=%s' % peer,
                '--listen-metrics-urls', 'http://127.0.0.1:%d'
                % process.free_port()]

    def _ready(self):
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d/health'
                                        % self.port, timeout=1) as answer:
                return b'"true"' in answer.read()
        except OSError:
            return False


SERVERS = {'zookeeper': ZooKeeperServer, 'etcd': EtcdServer}
