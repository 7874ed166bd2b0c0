"""Two real OpenStack regions on 127.0.0.1: one Keystone, per region Nova,
Placement, Cinder, Glance and Neutron.

* Keystone (SQLite, one gunicorn thread: it is the only writer) holds both
  regions' catalogs, the service users, an ``admin`` and a ``demo``
  (non-admin) project.
* Per region: Placement, Glance (file store), Nova API, conductor,
  scheduler and one compute with ``fake.FakeDriverWithoutFakeNodes``, Cinder
  API, scheduler, volume (a file per volume) and backup (POSIX), and Neutron
  (ML2 with a driver that binds ports without agents, bgpvpn, sfc, vpnaas).
  Nova, Placement, Glance and Cinder use the machine's PostgreSQL (their
  own databases) and RabbitMQ (their own vhost); Neutron a SQLite file.
* Everything runs from one venv pinned by ``constraints-openstack.txt``.
"""

import concurrent.futures
import os
import secrets as pysecrets
import shutil
import subprocess
import time

from geoflows.testing.minicloud import configs
from geoflows.testing.minicloud import infra
from geoflows.testing.minicloud import neutron
from geoflows.testing.minicloud import process
from geoflows.testing.minicloud import services

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, 'files')
CONSTRAINTS = os.path.join(HERE, 'constraints-openstack.txt')
PACKAGES = ('keystone', 'glance', 'nova', 'openstack-placement', 'cinder',
            'neutron', 'networking-bgpvpn', 'networking-sfc',
            'neutron-vpnaas', 'gunicorn', 'psycopg2-binary')

REGIONS = ('RegionOne', 'RegionTwo')
ADMIN_PASSWORD = 'minicloud-admin'
DEMO_PASSWORD = 'minicloud-demo'
SERVICE_USERS = ('nova', 'placement', 'glance', 'cinder', 'neutron')
# (catalog service name, type, the region's service, path after the port)
CATALOG = (('placement', 'placement', 'placement', ''),
           ('glance', 'image', 'glance', ''),
           ('nova', 'compute', 'nova', '/v2.1'),
           ('cinderv3', 'block-storage', 'cinder', '/v3'),
           ('neutron', 'network', 'neutron', ''))
DATABASES = ('placement', 'glance', 'nova_api', 'nova_cell0', 'nova_cell1',
             'cinder')
CONF_FILES = {'placement': 'placement.conf', 'glance': 'glance-api.conf',
              'nova': 'nova.conf', 'cinder': 'cinder.conf'}
FLAVORS = (('m1.tiny', 512, 1, 1), ('m1.small', 2048, 1, 20))

START_TIMEOUT = 240

# Both regions' cinder-backup keep their backups here, in the home (see
# configs.cinder): the stand-in for a store that both sites reach.
BACKUP_REPOSITORY = 'shared-backups'


def region_dir(home, region_name, service):
    """The directory of ``service`` (``cinder``, ``nova``...) in a region."""
    return os.path.join(home, 'regions', region_name, service)


def volume_dir(home, region_name):
    """Where the file volume driver of a region keeps its volume files."""
    return os.path.join(region_dir(home, region_name, 'cinder'), 'volumes')


def backup_repository(home):
    """The backup repository that the regions of ``home`` share."""
    return os.path.join(home, BACKUP_REPOSITORY)


def reset_backup_repository(home):
    """Empty the shared repository: a new run has no backup records."""
    path = backup_repository(home)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def _gunicorn(venv, app, port, argv=(), threads=8, env=None):
    """argv and env of an API served by gunicorn through wsgi_shim."""
    full_env = {'GEOFLOWS_MC_APP': app, 'GEOFLOWS_MC_ARGV': '\n'.join(argv)}
    full_env.update(env or {})
    return ([os.path.join(venv, 'bin', 'gunicorn'), 'wsgi_shim:application',
             '-w', '1', '--threads', str(threads), '-b',
             '127.0.0.1:%d' % port, '--timeout', '300', '--keep-alive',
             '120', '--no-control-socket', '--chdir', FILES], full_env)


class Keystone(object):

    def __init__(self, home, venv, port):
        self.home = home
        self.venv = venv
        self.port = port
        self.conf = os.path.join(home, 'keystone', 'keystone.conf')

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def setup(self):
        d = os.path.join(self.home, 'keystone')
        shutil.rmtree(d, ignore_errors=True)
        for sub in ('fernet-keys', 'credential-keys'):
            os.makedirs(os.path.join(d, sub))
        with open(self.conf, 'w') as f:
            f.write(configs.keystone(self.home))
        manage = [os.path.join(self.venv, 'bin', 'keystone-manage'),
                  '--config-file', self.conf]
        user = ['--keystone-user', str(os.getuid()),
                '--keystone-group', str(os.getgid())]
        _run(manage + ['db_sync'], 'keystone db_sync')
        _run(manage + ['fernet_setup'] + user, 'keystone fernet_setup')
        _run(manage + ['credential_setup'] + user,
             'keystone credential_setup')
        _run(manage + [
            'bootstrap', '--bootstrap-password', ADMIN_PASSWORD,
            '--bootstrap-username', 'admin', '--bootstrap-project-name',
            'admin', '--bootstrap-role-name', 'admin',
            '--bootstrap-service-name', 'keystone',
            '--bootstrap-region-id', REGIONS[0],
            '--bootstrap-public-url', self.url + '/v3',
            '--bootstrap-internal-url', self.url + '/v3',
            '--bootstrap-admin-url', self.url + '/v3'],
            'keystone bootstrap')

    def service(self):
        # One thread: the SQLite database takes one writer at a time.
        argv, env = _gunicorn(self.venv, 'keystone.wsgi.api:application',
                              self.port, threads=1,
                              env={'OS_KEYSTONE_CONFIG_FILES': self.conf})
        return services.Service(
            'keystone', 'keystone', argv,
            os.path.join(self.home, 'keystone', 'keystone.log'), env=env,
            url=self.url + '/v3')


class Region(object):
    """The services of one region, their ports, directories, databases."""

    def __init__(self, name, home, venv, run_id, keystone_url, ports):
        self.name = name
        self.home = home
        self.venv = venv
        self.run_id = run_id
        self.keystone_url = keystone_url
        self.ports = ports  # service -> port
        self.vhost = infra.vhost_name(run_id, name)
        self.transport_url = infra.transport_url(self.vhost)

    @property
    def short(self):
        return 'r%d' % (REGIONS.index(self.name) + 1)

    def dir(self, service):
        return region_dir(self.home, self.name, service)

    @property
    def volume_dir(self):
        return volume_dir(self.home, self.name)

    @property
    def backup_repository(self):
        return backup_repository(self.home)

    def url(self, service):
        return 'http://127.0.0.1:%d' % self.ports[service]

    def host(self, role):
        return 'minicloud-%s-%s' % (self.short, role)

    def database(self, service):
        return infra.database_name(self.run_id, self.short, service)

    def databases(self):
        return [self.database(s) for s in DATABASES]

    def db_url(self, service):
        return infra.database_url(self.database(service))

    def _python_bin(self, name):
        return os.path.join(self.venv, 'bin', name)

    # -- set-up ---------------------------------------------------------

    def write_configs(self):
        for service in ('placement', 'glance', 'nova', 'cinder'):
            d = self.dir(service)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(os.path.join(d, 'lock'))
        for sub in ('state', 'instances'):
            os.makedirs(os.path.join(self.dir('nova'), sub))
        os.makedirs(os.path.join(self.dir('cinder'), 'state'))
        os.makedirs(self.volume_dir)
        texts = {'placement': configs.placement(self),
                 'glance': configs.glance(self),
                 'nova': configs.nova(self),
                 'cinder': configs.cinder(self, self.venv)}
        for service, text in texts.items():
            with open(self.conf(service), 'w') as f:
                f.write(text)
        shutil.copy(os.path.join(self.venv, 'etc', 'nova', 'api-paste.ini'),
                    self.dir('nova'))
        shutil.copy(os.path.join(self.venv, 'etc', 'glance',
                                 'glance-api-paste.ini'), self.dir('glance'))

    def conf(self, service):
        return os.path.join(self.dir(service), CONF_FILES[service])

    def sync_schemas(self):
        """Create every service's schema (the databases exist, empty)."""
        nova = [self._python_bin('nova-manage'), '--config-file',
                self.conf('nova')]
        steps = [
            ([self._python_bin('placement-manage'), '--config-file',
              self.conf('placement'), 'db', 'sync'], 'placement db sync'),
            ([self._python_bin('glance-manage'), '--config-file',
              self.conf('glance'), 'db_sync'], 'glance db_sync'),
            ([self._python_bin('cinder-manage'), '--config-file',
              self.conf('cinder'), 'db', 'sync'], 'cinder db sync'),
        ]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(_run, argv, '%s %s' % (self.name, what))
                       for argv, what in steps]
            futures.append(pool.submit(self._sync_nova, nova))
            for future in futures:
                future.result()

    def _sync_nova(self, nova):
        _run(nova + ['api_db', 'sync'], '%s nova api_db sync' % self.name)
        _run(nova + ['cell_v2', 'map_cell0', '--database_connection',
                     self.db_url('nova_cell0')], 'nova map_cell0')
        _run(nova + ['cell_v2', 'create_cell', '--name', 'cell1'],
             'nova create_cell')
        _run(nova + ['db', 'sync'], '%s nova db sync' % self.name)

    def neutron(self):
        return neutron.NeutronSite(
            '%s-neutron' % self.short, self.dir('neutron'), self.venv,
            self.ports['neutron'], keystone=configs.neutron_keystone(self))

    # -- services ---------------------------------------------------------

    def services(self):
        logs = os.path.join(self.home, 'regions', self.name, 'logs')
        os.makedirs(logs, exist_ok=True)
        made = []

        def api(name, app, env, argv=()):
            full_argv, full_env = _gunicorn(self.venv, app, self.ports[name],
                                            argv=argv, env=env)
            made.append(services.Service(
                self.name, name, full_argv, os.path.join(logs, name + '.log'),
                env=full_env, url=self.url(name)))

        def worker(name, binary, conf, env=None):
            made.append(services.Service(
                self.name, name, [self._python_bin(binary), '--config-file',
                                  conf],
                os.path.join(logs, name + '.log'), env=env))

        api('placement', 'placement.wsgi.api:application',
            {'OS_PLACEMENT_CONFIG_DIR': self.dir('placement')})
        api('glance', 'glance.wsgi.api:application',
            {'OS_GLANCE_CONFIG_DIR': self.dir('glance')})
        api('nova', 'nova.wsgi.osapi_compute:application',
            {'OS_NOVA_CONFIG_DIR': self.dir('nova')})
        api('cinder', 'cinder.wsgi.api:application', {},
            argv=['--config-file', self.conf('cinder')])
        for role in ('conductor', 'scheduler', 'compute'):
            worker('nova-' + role, 'nova-' + role, self.conf('nova'))
        for role in ('scheduler', 'volume', 'backup'):
            # The file volume driver is in FILES; FILES/bin has a "sudo"
            # that runs what os-brick asks root for as this user.
            worker('cinder-' + role, 'cinder-' + role, self.conf('cinder'),
                   env={'PYTHONPATH': FILES, 'PATH': '%s:%s' % (
                       os.path.join(FILES, 'bin'), os.environ['PATH'])})
        return made

    def finish(self, connect):
        """What an operator does once the services run: flavors, hosts."""
        conn = connect('admin', self.name)
        deadline = time.monotonic() + START_TIMEOUT
        existing = {f.name for f in conn.compute.flavors()}
        for name, ram, vcpus, disk in FLAVORS:
            if name not in existing:
                conn.compute.create_flavor(name=name, ram=ram, vcpus=vcpus,
                                           disk=disk)
        nova = [self._python_bin('nova-manage'), '--config-file',
                self.conf('nova')]
        while time.monotonic() < deadline:
            _run(nova + ['cell_v2', 'discover_hosts'], 'discover_hosts')
            if list(conn.compute.hypervisors()):
                break
            time.sleep(1)
        else:
            raise process.ServiceError('%s: nova-compute never registered'
                                       % self.name)
        while time.monotonic() < deadline:
            pools = list(conn.block_storage.backend_pools())
            if pools:
                break
            time.sleep(1)
        else:
            raise process.ServiceError('%s: cinder-volume never reported'
                                       % self.name)


def _run(argv, what, timeout=600):
    env = infra.env_without_proxies()
    env['PYTHONWARNINGS'] = 'ignore'
    out = subprocess.run(argv, capture_output=True, text=True, env=env,
                         timeout=timeout)
    if out.returncode != 0:
        raise process.ServiceError('%s failed (exit %d):\n%s' % (
            what, out.returncode, (out.stderr or out.stdout)[-3000:]))
    return out.stdout


def new_run_id():
    return pysecrets.token_hex(3)


def catalog(conn, keystone_url, regions):
    """Regions, service users, services, endpoints; the demo project."""
    idn = conn.identity
    for region in regions:
        if not idn.find_region(region.name):
            idn.create_region(id=region.name)
    service_project = idn.find_project('service') or idn.create_project(
        name='service', domain_id='default')
    roles = {}
    for role in ('admin', 'member', 'reader', 'service'):
        roles[role] = idn.find_role(role) or idn.create_role(name=role)
    for name in SERVICE_USERS:
        user = idn.find_user(name) or idn.create_user(
            name=name, password=configs.SERVICE_PASSWORD, domain_id='default',
            default_project_id=service_project.id)
        for role in ('admin', 'service'):
            idn.assign_project_role_to_user(service_project, user,
                                            roles[role])
    demo = idn.find_project('demo') or idn.create_project(
        name='demo', domain_id='default')
    demo_user = idn.find_user('demo') or idn.create_user(
        name='demo', password=DEMO_PASSWORD, domain_id='default',
        default_project_id=demo.id)
    idn.assign_project_role_to_user(demo, demo_user, roles['member'])
    keystone_service = idn.find_service('keystone')
    for name, kind, served_by, path in CATALOG:
        service = idn.find_service(name) or idn.create_service(name=name,
                                                               type=kind)
        for region in regions:
            for interface in ('public', 'internal', 'admin'):
                idn.create_endpoint(
                    service_id=service.id, interface=interface,
                    url=region.url(served_by) + path, region_id=region.name)
    for region in regions[1:]:
        for interface in ('public', 'internal', 'admin'):
            idn.create_endpoint(service_id=keystone_service.id,
                                interface=interface,
                                url=keystone_url + '/v3',
                                region_id=region.name)
