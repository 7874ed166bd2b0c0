"""The Neutron API of a minicloud region, on 127.0.0.1.

Neutron runs with ML2 and the router, segments, bgpvpn, flow_classifier,
sfc and vpnaas service plugins, with Keystone (or, given no Keystone
sections, noauth: every caller is admin), without agents and without a data
plane.  Its database is a SQLite file in the site's directory (requests are
served one at a time).  What a real site's agents would do is simulated
where the API depends on it:

* ports are bound by the ``bindall`` ML2 mechanism driver (vif type ovs,
  ACTIVE at once), so that Nova boots servers on them;

* one DHCP agent per availability zone is announced at boot, so networks
  may carry availability zone hints (cells are identified by their zone);
* VPN services and IPsec site connections are reported ACTIVE by the
  ``agentless_vpn`` driver.
"""

import json
import os
import shutil
import subprocess

from geoflows.testing.minicloud import process

FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'files')

# The "routes control" driver needs no agent and, unlike the plain
# dummy driver, serves port associations.
_BGPVPN_DRIVER = ('networking_bgpvpn.neutron.services.service_drivers.'
                  'driver_api.BGPVPNDriverRC')

PHYSICAL_NETWORKS = ('physnet1', 'physnet2')
AVAILABILITY_ZONES = ('az1', 'az2')

_NEUTRON_CONF = """\
[DEFAULT]
core_plugin = ml2
service_plugins = router,segments,bgpvpn,flow_classifier,sfc,vpnaas
auth_strategy = {auth_strategy}
transport_url = fake:/
api_paste_config = {datadir}/api-paste.ini
state_path = {datadir}
host = {name}
allow_overlapping_ips = true
notify_nova_on_port_status_changes = {notify_nova}
notify_nova_on_port_data_changes = {notify_nova}
dhcp_agent_notification = false
debug = false
use_stderr = true

[database]
connection = sqlite:///{datadir}/neutron.sqlite
sqlite_synchronous = false

[oslo_concurrency]
lock_path = {datadir}/lock

[oslo_messaging_notifications]
driver = noop

[service_providers]
service_provider = BGPVPN:Dummy:{bgpvpn_driver}:default
service_provider = VPN:agentless:agentless_vpn.AgentlessIPsecVPNDriver:default

[sfc]
drivers = dummy

[flowclassifier]
drivers = dummy
"""

_ML2_CONF = """\
[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers = {mechanism_drivers}
extension_drivers = port_security

[ml2_type_flat]
flat_networks = *

[ml2_type_vlan]
network_vlan_ranges = {vlan_ranges}

[ml2_type_vxlan]
vni_ranges = 1000:1999
"""


class NeutronSite(object):
    """A Neutron API server with its data directory."""

    def __init__(self, name, datadir, venv, port=None, keystone=None):
        self.name = name
        self.datadir = os.path.abspath(datadir)
        self.venv = venv
        self.port = port
        #: with Keystone (a region with Nova): the [keystone_authtoken] and
        #: [nova] sections; ports are then bound for Nova's servers.
        self.keystone = keystone

    @property
    def url(self):
        return 'http://127.0.0.1:%d/' % self.port

    @property
    def log_file(self):
        return os.path.join(self.datadir, 'server.log')

    @property
    def pid_file(self):
        return os.path.join(self.datadir, 'server.pid')

    def _python(self):
        return os.path.join(self.venv, 'bin', 'python')

    def schema_cache(self):
        """An empty schema, built once per venv and copied for each site."""
        cache = os.path.join(self.venv, 'geoflows-neutron-schema.sqlite')
        if not os.path.exists(cache):
            tmp = cache + '.%d.tmp' % os.getpid()
            out = subprocess.run(
                [self._python(), os.path.join(FILES, 'neutron_dbinit.py'),
                 'sqlite:///' + tmp],
                capture_output=True, text=True,
                env=dict(os.environ, PYTHONWARNINGS='ignore'))
            if out.returncode != 0:
                raise process.ServiceError(
                    'creating the Neutron schema failed:\n%s' % out.stderr)
            os.replace(tmp, cache)
        return cache

    def write_config(self):
        os.makedirs(os.path.join(self.datadir, 'lock'), exist_ok=True)
        vlan_ranges = ','.join('%s:%d:%d' % (net, 100 * (i + 1),
                                             100 * (i + 1) + 99)
                               for i, net in enumerate(PHYSICAL_NETWORKS))
        files = {
            'neutron.conf': _NEUTRON_CONF.format(
                datadir=self.datadir, name=self.name,
                bgpvpn_driver=_BGPVPN_DRIVER,
                auth_strategy='keystone' if self.keystone else 'noauth',
                notify_nova='true' if self.keystone else 'false',
            ) + (self.keystone or ''),
            'ml2_conf.ini': _ML2_CONF.format(
                vlan_ranges=vlan_ranges,
                mechanism_drivers='bindall' if self.keystone else ''),
            'site.json': json.dumps({
                'port': self.port,
                'serialize': True,
                'availability_zones': list(AVAILABILITY_ZONES)}),
        }
        for filename, text in files.items():
            with open(os.path.join(self.datadir, filename), 'w') as f:
                f.write(text)
        shutil.copy(os.path.join(self.venv, 'etc', 'neutron',
                                 'api-paste.ini'),
                    os.path.join(self.datadir, 'api-paste.ini'))

    def reset_database(self):
        shutil.copy(self.schema_cache(),
                    os.path.join(self.datadir, 'neutron.sqlite'))

    def start(self, timeout=120):
        if self.is_running():
            raise process.ServiceError('%s is already running (pid %d)'
                                       % (self.name, self.pid()))
        os.makedirs(self.datadir, exist_ok=True)
        self.write_config()
        self.reset_database()
        pid = process.spawn(
            self.argv(), log_file=self.log_file,
            env={'PYTHONWARNINGS': 'ignore'})
        with open(self.pid_file, 'w') as f:
            f.write(str(pid))
        process.wait_for_line(self.log_file, 'READY', pid, timeout,
                              what='Neutron site %s' % self.name)

    def argv(self):
        """The server's command line."""
        return [self._python(), os.path.join(FILES, 'neutron_serve.py'),
                self.datadir]

    def pid(self):
        return process.read_pid(self.pid_file)

    def is_running(self):
        pid = self.pid()
        return pid is not None and process.is_alive(pid, 'neutron_serve.py')
