"""A disposable set of OpenStack sites on 127.0.0.1.

Today each site is a real Neutron API (see ``neutron.py``); the layout
(one directory per site, a state file, a generated ``clouds.yaml``) is meant
to take more services per site.
"""

import json
import os

import yaml

from geoflows.testing.minicloud import neutron
from geoflows.testing.minicloud import process
from geoflows.testing.minicloud import venv

DEFAULT_SITES = ('site-a', 'site-b')

# The external network every site gets, as an operator's "public" network:
# VPN services need a router with a gateway on one.
PUBLIC_NETWORK = 'public'


def default_home():
    base = os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache')
    return os.path.join(base, 'geoflows', 'minicloud')


class Minicloud(object):

    def __init__(self, home=None):
        self.home = os.path.abspath(
            home or os.environ.get('GEOFLOWS_MINICLOUD_HOME')
            or default_home())

    @property
    def state_file(self):
        return os.path.join(self.home, 'state.json')

    @property
    def clouds_yaml(self):
        return os.path.join(self.home, 'clouds.yaml')

    def _state(self):
        try:
            with open(self.state_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {'sites': {}}

    def _save_state(self, state):
        os.makedirs(self.home, exist_ok=True)
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(state, f, indent=2)
        os.replace(tmp, self.state_file)

    def install(self):
        """Build (or reuse) the service venv; return its path."""
        return venv.ensure_venv(os.path.join(self.home, 'venvs'), 'neutron',
                                neutron.CONSTRAINTS, neutron.PACKAGES)

    def sites(self):
        state = self._state()
        return [neutron.NeutronSite(name, info['datadir'], info['venv'],
                                    info['port'])
                for name, info in sorted(state['sites'].items())]

    def up(self, names=DEFAULT_SITES):
        """Start fresh sites (empty databases) and write clouds.yaml."""
        if any(site.is_running() for site in self.sites()):
            raise process.ServiceError(
                'minicloud is already running in %s; run '
                '"geoflows-minicloud down" first' % self.home)
        venv_path = self.install()
        state = {'sites': {}, 'clouds_yaml': self.clouds_yaml}
        started = []
        try:
            for name in names:
                site = neutron.NeutronSite(
                    name, os.path.join(self.home, 'sites', name), venv_path,
                    process.free_port())
                site.start()
                started.append(site)
                state['sites'][name] = {'port': site.port,
                                        'datadir': site.datadir,
                                        'venv': venv_path}
                self._save_state(state)
            self._write_clouds_yaml(started)
            for index, site in enumerate(started):
                self._bootstrap(site, index)
        except BaseException:
            for site in started:
                site.stop()
            raise
        return started

    def down(self):
        stopped = []
        for site in self.sites():
            if site.is_running():
                site.stop()
                stopped.append(site.name)
        state = self._state()
        state['sites'] = {}
        self._save_state(state)
        return stopped

    def status(self):
        return [site.status() for site in self.sites()]

    def _write_clouds_yaml(self, sites):
        clouds = {
            site.name: {
                'auth_type': 'none',
                'region_name': 'RegionOne',
                'network_endpoint_override': site.url,
            } for site in sites}
        tmp = self.clouds_yaml + '.tmp'
        with open(tmp, 'w') as f:
            f.write('# Written by geoflows-minicloud: one cloud per site.\n')
            yaml.safe_dump({'clouds': clouds}, f, default_flow_style=False)
        os.replace(tmp, self.clouds_yaml)

    def connect(self, name):
        import openstack
        import openstack.config

        config = openstack.config.OpenStackConfig(
            config_files=[self.clouds_yaml])
        return openstack.connection.Connection(
            config=config.get_one(cloud=name))

    def _bootstrap(self, site, index):
        """Give the site the resources an operator would already have."""
        conn = self.connect(site.name)
        net = conn.network.create_network(
            name=PUBLIC_NETWORK, is_router_external=True, is_shared=True,
            provider_network_type='flat',
            provider_physical_network=PUBLIC_NETWORK)
        conn.network.create_subnet(
            name=PUBLIC_NETWORK, network_id=net.id, ip_version=4,
            cidr='172.24.%d.0/24' % (index + 4), is_dhcp_enabled=False)
