"""Start, describe and stop the two-region minicloud (see regions.py).

The state file (``regions.json`` in the home) records the run id, the ports,
every service's pid and the databases and vhosts made, from the first step
on: ``down`` stops and removes exactly that, even after a failed ``up``.
"""

import concurrent.futures
import json
import os
import time
import uuid

import yaml

from geoflows.testing.minicloud import infra
from geoflows.testing.minicloud import process
from geoflows.testing.minicloud import regions as regions_mod
from geoflows.testing.minicloud import services as services_mod
from geoflows.testing.minicloud import venv as venv_mod
from geoflows.testing.minicloud import volumes as volumes_mod

# Cloud names in clouds.yaml, per region: the admin, and a member of the
# non-admin "demo" project.
CLOUD_NAMES = {'RegionOne': 'site-a', 'RegionTwo': 'site-b'}
PUBLIC_NETWORK = 'public'


class Stack(object):

    def __init__(self, home):
        self.home = home

    @property
    def state_file(self):
        return os.path.join(self.home, 'regions.json')

    @property
    def clouds_yaml(self):
        return os.path.join(self.home, 'clouds.yaml')

    def _state(self):
        try:
            with open(self.state_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _save(self, state):
        os.makedirs(self.home, exist_ok=True)
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(state, f, indent=2)
        os.replace(tmp, self.state_file)

    def install(self):
        return venv_mod.ensure_venv(
            os.path.join(self.home, 'venvs'), 'openstack',
            regions_mod.CONSTRAINTS, regions_mod.PACKAGES)

    def services(self):
        state = self._state() or {}
        return [services_mod.Service.from_dict(s)
                for s in state.get('services', [])]

    def is_running(self):
        return any(s.is_running() for s in self.services())

    # -- up -----------------------------------------------------------------

    def up(self, report=print):
        if self.is_running():
            raise process.ServiceError(
                'the minicloud already runs in %s; run "geoflows-minicloud '
                'down" first' % self.home)
        infra.check()
        started = time.monotonic()
        venv = self.install()
        report('venv ready (%.1fs)' % (time.monotonic() - started))
        python = os.path.join(venv, 'bin', 'python')
        run_id = regions_mod.new_run_id()
        keystone = regions_mod.Keystone(self.home, venv, process.free_port())
        names = ('placement', 'glance', 'nova', 'cinder', 'neutron')
        regions = [regions_mod.Region(
            name, self.home, venv, run_id, keystone.url,
            {n: process.free_port() for n in names})
            for name in regions_mod.REGIONS]
        state = {'run_id': run_id, 'venv': venv, 'keystone': keystone.url,
                 'regions': {r.name: r.ports for r in regions},
                 'databases': [], 'vhosts': [], 'services': []}
        self._save(state)
        try:
            self._up(state, python, keystone, regions, report, started)
        except BaseException:
            report('start-up failed; stopping what started')
            self.down()
            raise
        report('both regions up in %.1fs; PSS %d MiB; clouds.yaml: %s' % (
            time.monotonic() - started, self.pss_mib(), self.clouds_yaml))

    def _up(self, state, python, keystone, regions, report, started):
        def step(what):
            report('%-40s %6.1fs' % (what, time.monotonic() - started))

        for region in regions:
            infra.create_vhost(region.vhost)
            state['vhosts'].append(region.vhost)
            databases = region.databases()
            state['databases'].extend(databases)
            self._save(state)
            infra.create_databases(python, databases)
        step('databases and vhosts created')
        regions_mod.reset_backup_repository(self.home)
        neutrons = [r.neutron() for r in regions]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(keystone.setup)]
            for region in regions:
                region.write_configs()
                futures.append(pool.submit(region.sync_schemas))
            for site in neutrons:
                futures.append(pool.submit(site.schema_cache))
            for future in futures:
                future.result()
        step('schemas created')
        ks = keystone.service()
        self._start(state, [ks])
        ks.wait_ready(time.monotonic() + 60)
        step('keystone answers')
        regions_mod.catalog(self.connect('admin', regions[0].name,
                                         keystone.url),
                            keystone.url, regions)
        step('catalog written')
        all_services = []
        for region in regions:
            all_services.extend(region.services())
        self._start(state, all_services)
        for region, site in zip(regions, neutrons):
            site.start(timeout=regions_mod.START_TIMEOUT)
            state['services'].append(services_mod.Service(
                region.name, 'neutron', site.argv(), site.log_file,
                url=site.url, pid=site.pid()).to_dict())
            self._save(state)
        deadline = time.monotonic() + regions_mod.START_TIMEOUT
        for service in all_services:
            service.wait_ready(deadline)
        step('every API answers')
        self._write_clouds_yaml(keystone.url)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(r.finish, lambda who, name:
                                       self.connect(who, name, keystone.url))
                           for r in regions]:
                future.result()
        step('compute hosts and volume backends up')
        for index, region in enumerate(regions):
            self._bootstrap_network(region, index, keystone.url)
        step('public networks created')

    def _start(self, state, services):
        for service in services:
            service.start()
            state['services'].append(service.to_dict())
        self._save(state)

    def connect(self, who, region_name, keystone_url=None):
        import openstack

        keystone_url = keystone_url or self._state()['keystone']
        password = (regions_mod.ADMIN_PASSWORD if who == 'admin'
                    else regions_mod.DEMO_PASSWORD)
        return openstack.connection.Connection(
            auth_url=keystone_url + '/v3', username=who, password=password,
            project_name=who, user_domain_id='default',
            project_domain_id='default', region_name=region_name,
            identity_interface='public')

    def _write_clouds_yaml(self, keystone_url):
        clouds = {}
        for region, name in CLOUD_NAMES.items():
            for who, suffix in (('admin', ''), ('demo', '-demo')):
                clouds[name + suffix] = {
                    'region_name': region,
                    'identity_api_version': 3,
                    'auth': {
                        'auth_url': keystone_url + '/v3',
                        'username': who,
                        'password': (regions_mod.ADMIN_PASSWORD
                                     if who == 'admin'
                                     else regions_mod.DEMO_PASSWORD),
                        'project_name': who,
                        'user_domain_id': 'default',
                        'project_domain_id': 'default'}}
        tmp = self.clouds_yaml + '.tmp'
        with open(tmp, 'w') as f:
            f.write('# Written by geoflows-minicloud: per region, the admin '
                    'and a member of project "demo".\n')
            yaml.safe_dump({'clouds': clouds}, f, default_flow_style=False)
        os.replace(tmp, self.clouds_yaml)

    def _bootstrap_network(self, region, index, keystone_url):
        conn = self.connect('admin', region.name, keystone_url)
        net = conn.network.create_network(
            name=PUBLIC_NETWORK, is_router_external=True, is_shared=True,
            provider_network_type='flat',
            provider_physical_network=PUBLIC_NETWORK)
        conn.network.create_subnet(
            name=PUBLIC_NETWORK, network_id=net.id, ip_version=4,
            cidr='172.24.%d.0/24' % (index + 4), is_dhcp_enabled=False)

    # -- the regions' data, for tests that check it --------------------------

    @property
    def backup_repository(self):
        """The directory both regions' cinder-backup write their backups to.

        A backup lives in ``<id[0:2]>/<id[2:4]>/<id>/`` (its container),
        whichever region made it or imported its record.
        """
        return regions_mod.backup_repository(self.home)

    def volume_dir(self, region):
        if region not in regions_mod.REGIONS:
            raise ValueError('no region %r in the minicloud (%s)' % (
                region, ', '.join(regions_mod.REGIONS)))
        return regions_mod.volume_dir(self.home, region)

    def volume_file(self, region, volume):
        """The file behind a volume (an id or an SDK volume) of a region."""
        volume_id = str(uuid.UUID(getattr(volume, 'id', volume)))
        return os.path.join(self.volume_dir(region), 'volume-%s' % volume_id)

    def write_volume(self, region, volume, offset, data):
        """Write ``data`` at byte ``offset`` of a volume, in place.

        What a server would have written: the minicloud has no data plane.
        The volume keeps its size; the data is on disk when this returns.
        """
        volumes_mod.write_at(self.volume_file(region, volume), offset, data)

    def volume_sha256(self, region, volume):
        """The sha256 of a volume's whole content (holes are not read)."""
        return volumes_mod.sha256(self.volume_file(region, volume))

    def backup_repository_files(self):
        """Every file in the shared backup repository, relative to it."""
        found = []
        root = self.backup_repository
        for path, _dirs, files in os.walk(root):
            found.extend(os.path.relpath(os.path.join(path, name), root)
                         for name in files)
        return sorted(found)

    def remove_backup_containers(self, backup_ids):
        """Remove the empty directories that deleted backups leave behind.

        Cinder's POSIX driver deletes a backup's files but not its
        container directory; a directory that still holds files stays.
        """
        root = self.backup_repository
        for backup_id in backup_ids:
            backup_id = str(uuid.UUID(backup_id))
            parts = [backup_id[0:2], backup_id[2:4], backup_id]
            while parts:
                try:
                    os.rmdir(os.path.join(root, *parts))
                except FileNotFoundError:
                    pass
                except OSError:  # not empty: another backup's, or files
                    break
                parts.pop()

    # -- down and status ------------------------------------------------------

    def down(self):
        state = self._state()
        if not state:
            return []
        running = [s for s in self.services() if s.is_running()]
        # Workers first (they talk to the APIs and the broker), Keystone
        # last; all of them at once: nova-compute takes 10 s to exit.
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda s: s.stop(), [
                s for s in running if s.name != 'keystone']))
        for service in running:
            if service.name == 'keystone':
                service.stop()
        stopped = ['%s %s' % (s.region, s.name) for s in running]
        python = os.path.join(state['venv'], 'bin', 'python')
        if state.get('databases'):
            infra.drop_databases(python, state['databases'])
        for vhost in state.get('vhosts', []):
            infra.delete_vhost(vhost)
        os.unlink(self.state_file)
        return stopped

    def status(self):
        return [s.status() for s in self.services()]

    def pss_mib(self):
        state = self._state() or {}
        return services_mod.pss_mib(
            [s.pid for s in self.services() if s.is_running()],
            marker=infra.PREFIX + state['run_id'] if state else None)
