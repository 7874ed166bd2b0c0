"""Base of the functional tests: two real OpenStack regions, the real CLI.

The tests run under ``geoflows-minicloud run`` (``tox -e functional``),
which starts two OpenStack regions on 127.0.0.1 and points
OS_CLIENT_CONFIG_FILE at their clouds.yaml: cloud ``site-a`` (RegionOne,
with two cells, az1/physnet1 and az2/physnet2) and cloud ``site-b``
(RegionTwo), both as admin; ``site-a-demo`` and ``site-b-demo`` as a member
of a non-admin project.  They run one at
a time: each compares whole sites before and after.
"""

import collections
import json
import os
import subprocess
import sys
import textwrap
import uuid

import fixtures
import openstack
import openstack.config
from oslotest import base
import yaml

GEOFLOWS = os.path.join(os.path.dirname(sys.executable), 'geoflows')

SITES = '''\
sites:
  east: {cloud: site-a}
  west: {cloud: %(west_cloud)s}
  east-cell1:
    cloud: site-a
    cell: {availability_zone: az1, physical_network: physnet1}
  east-cell2:
    cloud: site-a
    cell: {availability_zone: az2, physical_network: physnet2}
'''

BGPVPN = '''\
  - name: core
    local:
      site: east
      networks: [{name: %(name)s-core-east, cidr: 10.10.0.0/24}]
    remote:
      site: west
      networks: [{name: %(name)s-core-west, cidr: 10.20.0.0/24}]
    overlay: {type: bgpvpn, vpn_type: %(vpn_type)s}
'''

BGPVPN_ROUTER = '''\
  - name: core
    local:
      site: east
      networks: [{name: %(name)s-core-east, cidr: 10.10.0.0/24}]
      router: {name: %(name)s-core-edge-east}
    remote:
      site: west
      networks: [{name: %(name)s-core-west, cidr: 10.20.0.0/24}]
      router: {name: %(name)s-core-edge-west}
    overlay: {type: bgpvpn, associate: router}
'''

IPSEC = '''\
  - name: oam
    local:
      site: east
      networks: [{name: %(name)s-oam-east, cidr: 10.11.0.0/24}]
      router: {name: %(name)s-edge-east, external_network: public}
    remote:
      site: west
      networks: [{name: %(name)s-oam-west, cidr: 10.21.0.0/24}]
      router: {name: %(name)s-edge-west, external_network: public}
    overlay: {type: ipsec, psk: %(psk)s}
'''

SEGMENTS = '''\
  - name: cells
    local:
      site: east-cell1
      segment: {cidr: 10.30.1.0/24, segmentation_id: %(seg1)d}
    remote:
      site: east-cell2
      segment: {cidr: 10.30.2.0/24, segmentation_id: %(seg2)d}
    overlay: {type: segments}
'''


class Result(object):

    def __init__(self, argv, rc, stdout, stderr):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    @property
    def json(self):
        return json.loads(self.stdout)

    def __repr__(self):
        return 'geoflows %s -> %d\nstdout:\n%s\nstderr:\n%s' % (
            ' '.join(self.argv), self.rc, self.stdout, self.stderr)


class FunctionalTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        minicloud_yaml = os.environ.get('OS_CLIENT_CONFIG_FILE')
        if not os.environ.get('GEOFLOWS_FUNCTIONAL') or not minicloud_yaml:
            self.fail('the functional tests need the minicloud sites: run '
                      'them with "tox -e functional"')
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.name = 'f' + uuid.uuid4().hex[:7]
        with open(minicloud_yaml) as f:
            self.clouds = yaml.safe_load(f)['clouds']
        self.clouds_yaml = os.path.join(self.tmp, 'clouds.yaml')
        self.write_clouds()
        self.env = dict(
            os.environ, OS_CLIENT_CONFIG_FILE=self.clouds_yaml,
            OS_DEFAULT__STATE_DIR=os.path.join(self.tmp, 'state'),
            OS_IPSEC__ACTIVE_INTERVAL='0.5', PYTHONWARNINGS='ignore')
        self._connections = {}
        self.addCleanup(self.remove_leftovers)

    # -- environment ---------------------------------------------------

    def write_clouds(self):
        with open(self.clouds_yaml, 'w') as f:
            yaml.safe_dump({'clouds': self.clouds}, f)

    def add_cloud(self, name, endpoint, like='site-b'):
        """A cloud of its own name: ``like``'s, with Neutron at ``endpoint``.

        (It authenticates as ``like`` does; only its network calls go to
        ``endpoint``, e.g. a fault-injecting proxy.)
        """
        self.clouds[name] = dict(self.clouds[like],
                                 network_endpoint_override=endpoint)
        self.write_clouds()

    def network_url(self, cloud):
        """The URL of ``cloud``'s Neutron API, from the catalog."""
        return self.network(cloud).get_endpoint().rstrip('/') + '/'

    def network(self, cloud):
        if cloud not in self._connections:
            config = openstack.config.OpenStackConfig(
                config_files=[self.clouds_yaml])
            self._connections[cloud] = openstack.connection.Connection(
                config=config.get_one(cloud=cloud))
        return self._connections[cloud].network

    def write_plan(self, *interconnects, west_cloud='site-b', psk=None,
                   vpn_type='l3'):
        """A plan of this test (its own name and resource names)."""
        values = {'name': self.name, 'west_cloud': west_cloud,
                  'psk': psk or '{derive: true}', 'vpn_type': vpn_type,
                  'seg1': 100 + int(self.name[1:3], 16) % 99,
                  'seg2': 200 + int(self.name[3:5], 16) % 99}
        text = 'version: 1\nname: %s\n' % self.name
        text += SITES % values + 'interconnects:\n'
        text += ''.join(ic % values for ic in interconnects)
        path = os.path.join(self.tmp, 'plan-%s.yaml' % uuid.uuid4().hex[:6])
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))
        return path

    def record_measurement(self, **figures):
        """Append ``figures`` to $GEOFLOWS_TEST_MEASUREMENTS, if it is set."""
        path = os.environ.get('GEOFLOWS_TEST_MEASUREMENTS')
        if path:
            with open(path, 'a') as f:
                f.write(json.dumps(dict(figures, test=self.id())) + '\n')

    def geoflows(self, *args, expect=0, env=None):
        """Run the geoflows command; check its exit status if expected."""
        argv = [GEOFLOWS] + list(args)
        proc = subprocess.run(argv, capture_output=True, text=True,
                              env=env or self.env, timeout=600)
        result = Result(args, proc.returncode, proc.stdout, proc.stderr)
        if expect is not None:
            self.assertEqual(expect, result.rc, result)
        return result

    def run_job(self, *args, expect=0):
        """Run an operation with -f json; return its job as a dict."""
        return self.geoflows(*(args + ('-f', 'json')), expect=expect).json

    # -- what is on the sites ------------------------------------------------

    LISTS = {
        'network': ('networks', ('name', 'description',
                                 'availability_zone_hints')),
        'subnet': ('subnets', ('name', 'cidr', 'description')),
        'segment': ('segments', ('name', 'physical_network',
                                 'segmentation_id', 'network_type')),
        'router': ('routers', ('name', 'description')),
        'port': ('ports', ('device_owner', 'name')),
        'bgpvpn': ('bgpvpns', ('name', 'type', 'route_targets')),
        'ikepolicy': ('vpn_ike_policies', ('name',)),
        'ipsecpolicy': ('vpn_ipsec_policies', ('name',)),
        'vpnservice': ('vpn_services', ('name', 'status')),
        'endpoint_group': ('vpn_endpoint_groups', ('name', 'type')),
        'connection': ('vpn_ipsec_site_connections', ('name', 'status',
                                                      'peer_address')),
    }

    def snapshot(self, cloud):
        """Everything on a site, by kind, without ids (to compare)."""
        net = self.network(cloud)
        result = {}
        for kind, (method, fields) in self.LISTS.items():
            result[kind] = sorted(
                tuple(str(getattr(r, field, None)) for field in fields)
                for r in getattr(net, method)())
        result['bgpvpn association'] = sorted(
            (vpn.name, a.network_id is not None)
            for vpn in net.bgpvpns()
            for a in net.bgpvpn_network_associations(vpn))
        return result

    def snapshots(self):
        return {cloud: self.snapshot(cloud) for cloud in ('site-a',
                                                          'site-b')}

    def duplicates(self, cloud):
        """Names that more than one resource of a kind carries."""
        found = []
        for kind, entries in self.snapshot(cloud).items():
            if kind in ('port', 'bgpvpn association', 'segment'):
                continue
            counts = collections.Counter(entry[0] for entry in entries)
            found.extend('%s %s x%d' % (kind, name, n)
                         for name, n in counts.items() if n > 1 and name)
        return found

    def remove_leftovers(self, name=None):
        """Safety net: delete what this test's plan left on the sites.

        One failed test must not fail the next ones.  Every deletion is
        tried; the first error is raised at the end.
        """
        name = name or self.name
        marker = 'plan=%s ' % name
        errors = []

        def ours(resource):
            description = getattr(resource, 'description', None) or ''
            return marker in description or (resource.name or '').startswith(
                ('gf-%s-' % name, name + '-'))

        def attempt(call, *args, **kwargs):
            try:
                call(*args, **kwargs)
            except Exception as e:
                errors.append(e)

        for cloud in ('site-a', 'site-b'):
            net = self.network(cloud)
            for method, delete in (
                    ('vpn_ipsec_site_connections',
                     'delete_vpn_ipsec_site_connection'),
                    ('vpn_endpoint_groups', 'delete_vpn_endpoint_group'),
                    ('vpn_services', 'delete_vpn_service'),
                    ('vpn_ike_policies', 'delete_vpn_ike_policy'),
                    ('vpn_ipsec_policies', 'delete_vpn_ipsec_policy'),
                    ('bgpvpns', 'delete_bgpvpn')):
                for resource in getattr(net, method)():
                    if ours(resource):
                        attempt(getattr(net, delete), resource)
            for router in net.routers():
                if ours(router):
                    for port in net.ports(device_id=router.id):
                        if port.device_owner.startswith(
                                'network:router_interface'):
                            attempt(net.remove_interface_from_router,
                                    router, port_id=port.id)
                    attempt(net.delete_router, router)
            for network in net.networks():
                if ours(network):
                    attempt(net.delete_network, network)
        if errors:
            raise errors[0]
