"""A real OpenStack Mistral on 127.0.0.1, with geoflows installed beside it.

Mistral runs as its four services (API, engine, executor, notifier; a
fifth, the periodic server, when cron triggers are asked for), each a
``mistral-server --server X`` process of its own, so that one of them can
be killed and started again; its database is on the machine's PostgreSQL
and its RPC on the machine's RabbitMQ, a database and a vhost per run
(``gfms_<run>``), both dropped by :meth:`MistralServer.down`.  Keystone
authentication is off: the API takes requests without a token.

The venv holds Mistral and geoflows' dependencies, pinned by
``constraints-mistral.txt``, and is built once (cached beside the
minicloud's); geoflows itself is installed into it from this source tree
at each start, as an operator installs the action pack into a Mistral
deployment (a regular install: the workbooks land in the venv's
``share/geoflows/workbooks``, where the Mistral guide says).  Mistral
loads the ``mistral.actions`` entry points when its processes start.

    server = MistralServer(data_dir, geoflows_config='geoflows.conf')
    server.up()
    ...   # server.url, server.kill('executor'), server.start('executor')
    server.down()
"""

import json
import os
import signal
import subprocess
import sys
import time

from oslo_utils import uuidutils

from geoflows.testing.minicloud import cloud
from geoflows.testing.minicloud import infra
from geoflows.testing.minicloud import process
from geoflows.testing.minicloud import services
from geoflows.testing.minicloud import venv as venv_mod

HERE = os.path.dirname(os.path.abspath(__file__))
CONSTRAINTS = os.path.join(HERE, 'constraints-mistral.txt')
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
# wheel: geoflows is built and installed without build isolation.
PACKAGES = ('mistral', 'python-mistralclient', 'psycopg2-binary', 'wheel')
COMPONENTS = ('api', 'engine', 'executor', 'notifier')
# With cron triggers: Mistral's periodic server runs them.  (Run in the
# API, Mistral's deprecated default, they start in its master process
# before it forks the API worker, which then hangs at times.)
PERIODIC = 'periodic'
PREFIX = 'gfms_'

# How fast Mistral notices an executor that died with an action running
# (check_interval x max_missed_heartbeats), and how long it waits for a
# first heartbeat.  Mistral's defaults (20 s x 15, 3600 s) suit long
# actions in production; tests want it in seconds.
HEARTBEAT = {'check_interval': 2, 'max_missed_heartbeats': 3,
             'first_heartbeat_timeout': 30}

CONF_TEMPLATE = """\
[DEFAULT]
transport_url = {transport_url}
debug = false

[api]
host = 127.0.0.1
port = {port}

[pecan]
auth_enable = false

[database]
connection = {database_url}

[executor]
type = remote

[notifier]
type = remote

[scheduler]
# Mistral's scheduler polls its job table; 1 s by default is slow for tests.
fixed_delay = 0.1

[cron_trigger]
# Off unless asked; then the periodic server polls them every second.
enabled = {cron_triggers}
run_in_api = false

[action_heartbeat]
check_interval = {check_interval}
max_missed_heartbeats = {max_missed_heartbeats}
first_heartbeat_timeout = {first_heartbeat_timeout}
"""


def venv_root():
    return os.path.join(cloud.Minicloud().home, 'venvs')


def install(root=None):
    """Build (or find) the Mistral venv; return its path."""
    return venv_mod.ensure_venv(
        root or venv_root(), 'mistral', CONSTRAINTS,
        list(PACKAGES) + _requirements())


def _requirements():
    with open(os.path.join(SOURCE, 'requirements.txt')) as f:
        return [line.split('#')[0].strip() for line in f
                if line.split('#')[0].strip()]


class MistralServer(object):
    """Mistral's four services on 127.0.0.1, their data in ``data_dir``.

    :param geoflows_config: the geoflows configuration file the actions
        read (passed to the executor and engine as $GEOFLOWS_CONFIG_FILE).
    :param env: more environment for the Mistral processes.
    :param cron_triggers: run the cron triggers (a fifth service,
        Mistral's periodic server, does).
    """

    def __init__(self, data_dir, geoflows_config=None, env=None,
                 venv_root=None, cron_triggers=False):
        self.data_dir = os.path.abspath(data_dir)
        self.geoflows_config = geoflows_config
        self.cron_triggers = cron_triggers
        self.env = dict(env or {})
        self.venv_root = venv_root
        self.venv = None
        self.run_id = None
        self.port = None
        self.services = {}

    @property
    def components(self):
        return COMPONENTS + ((PERIODIC,) if self.cron_triggers else ())

    @property
    def url(self):
        return 'http://127.0.0.1:%d/v2' % self.port

    @property
    def conf_file(self):
        return os.path.join(self.data_dir, 'mistral.conf')

    @property
    def database(self):
        return '%s%s' % (PREFIX, self.run_id)

    vhost = database

    def _bin(self, name):
        return os.path.join(self.venv, 'bin', name)

    @classmethod
    def attach(cls, data_dir, venv_root=None):
        """The server that an earlier :meth:`up` started in ``data_dir``."""
        server = cls(data_dir, venv_root=venv_root)
        with open(os.path.join(server.data_dir, 'mistral.json')) as f:
            state = json.load(f)
        server.venv = state['venv']
        server.run_id = state['run_id']
        server.port = state['port']
        server.services = {n: services.Service.from_dict(d)
                           for n, d in state['services'].items()}
        return server

    def _save(self):
        state = {'run_id': self.run_id, 'port': self.port,
                 'venv': self.venv,
                 'services': {n: s.to_dict()
                              for n, s in self.services.items()}}
        with open(os.path.join(self.data_dir, 'mistral.json'), 'w') as f:
            json.dump(state, f, indent=2)

    def up(self, report=lambda text: None):
        """Start Mistral afresh; :meth:`down` undoes it even if this fails.

        Returns the seconds each phase took.
        """
        infra.check()
        os.makedirs(self.data_dir, exist_ok=True)
        timings = {}
        started = time.monotonic()
        self.venv = install(self.venv_root)
        # Its dependencies are the venv's; the package itself is rebuilt
        # every time, the source may have changed since the last start.
        self._pip('install', '--quiet', '--no-build-isolation',
                  '--force-reinstall', '--no-deps', SOURCE)
        timings['venv and geoflows install'] = time.monotonic() - started
        self.run_id = uuidutils.generate_uuid()[:8]
        self.port = process.free_port()
        self._save()  # from here on, down() knows what to remove
        step = time.monotonic()
        python = self._bin('python')
        infra.create_databases(python, [self.database])
        infra.create_vhost(self.vhost)
        with open(self.conf_file, 'w') as f:
            f.write(CONF_TEMPLATE.format(
                transport_url=infra.transport_url(self.vhost),
                database_url=infra.database_url(self.database),
                port=self.port,
                cron_triggers='true' if self.cron_triggers else 'false',
                **HEARTBEAT))
        self._run('mistral-db-manage', '--config-file', self.conf_file,
                  'upgrade', 'head')
        timings['database and vhost'] = time.monotonic() - step
        report('Mistral database %s and vhost %s ready'
               % (self.database, self.vhost))
        step = time.monotonic()
        for component in self.components:
            self.start(component, wait=False)
        self.wait_ready(self.components)
        timings['services'] = time.monotonic() - step
        report('Mistral API on %s (services: %s)'
               % (self.url, ', '.join(self.components)))
        return timings

    def _pip(self, *args):
        self._run('python', '-m', 'pip', '--disable-pip-version-check',
                  *args)

    def _run(self, program, *args):
        log = os.path.join(self.data_dir, '%s.log' % program)
        with open(log, 'a') as out:
            rc = subprocess.call([self._bin(program)] + list(args),
                                 stdout=out, stderr=subprocess.STDOUT,
                                 env=self._env())
        if rc:
            raise process.ServiceError('%s %s exited %d; see %s:\n%s' % (
                program, ' '.join(args), rc, log, process.tail(log)))

    def _env(self):
        env = infra.env_without_proxies()
        env.update(self.env)
        env['PYTHONWARNINGS'] = 'ignore'
        if self.geoflows_config:
            env['GEOFLOWS_CONFIG_FILE'] = self.geoflows_config
        return env

    def start(self, component, wait=True):
        """Start one Mistral service (again)."""
        log = os.path.join(self.data_dir, '%s.log' % component)
        service = services.Service(
            'mistral', component,
            [self._bin('python'), self._bin('mistral-server'),
             '--config-file', self.conf_file, '--server', component,
             '--log-file', log],
            os.path.join(self.data_dir, '%s.out' % component),
            env=self._env(),
            url=self.url if component == 'api' else None)
        service.start()
        self.services[component] = service
        self._save()
        if wait:
            self.wait_ready([component])
        return service

    def wait_ready(self, components, timeout=120):
        """Wait until the API answers and the RPC services listen."""
        deadline = time.monotonic() + timeout
        for component in components:
            self.services[component].wait_ready(deadline)
        topics = {'mistral_%s' % c for c in components
                  if c not in ('api', PERIODIC)}
        while time.monotonic() < deadline:
            if topics <= self._queues() and (
                    PERIODIC not in components or self._logged(
                        PERIODIC, 'Periodic server started')):
                return
            for component in components:
                if not self.services[component].is_running():
                    raise process.ServiceError(
                        'Mistral %s exited during start-up; see %s'
                        % (component, self.services[component].log_file))
            time.sleep(0.3)
        raise process.ServiceError('Mistral services %s did not listen on '
                                   'vhost %s in time' % (sorted(topics),
                                                         self.vhost))

    def _logged(self, component, text):
        log = os.path.join(self.data_dir, '%s.log' % component)
        if not os.path.exists(log):
            return False
        with open(log, errors='replace') as f:
            return text in f.read()

    def _queues(self):
        out = subprocess.run(['rabbitmqctl', '-q', 'list_queues', '-p',
                              self.vhost, 'name', 'consumers'],
                             capture_output=True, text=True)
        found = set()
        for line in out.stdout.splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[1].isdigit() and int(fields[1]):
                found.add(fields[0])
        return found

    def kill(self, component):
        """SIGKILL a Mistral service and its children (a crash)."""
        service = self.services[component]
        try:
            os.killpg(os.getpgid(service.pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while service.is_running() and time.monotonic() < deadline:
            process._reap(service.pid)
            time.sleep(0.1)

    def pids(self):
        return [s.pid for s in self.services.values() if s.is_running()]

    def down(self):
        """Stop every service, drop the database and the vhost."""
        for service in self.services.values():
            service.stop(timeout=15)
        self.services = {}
        if self.run_id:
            python = self._bin('python') if self.venv else sys.executable
            try:
                infra.drop_databases(python, [self.database])
            finally:
                infra.delete_vhost(self.vhost)
            self.run_id = None
