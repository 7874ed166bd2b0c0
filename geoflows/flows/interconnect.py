"""Flows of the interconnect operation: setup, check and teardown.

One interconnect is one unit of a job.  Its resources (see
:class:`Layout`) are the same for the three flows:

* setup: Probe then Ensure each resource (parents first, the two sides in
  parallel), wait for VPN services and connections to become ACTIVE, and
  report what was created or found.  Running it again creates nothing new
  and repairs what is missing.
* check: Probe each resource and compare both sides with the plan.
* teardown: Probe each resource, delete what geoflows created (children
  first), release the route target.

The factories do no I/O and read no configuration: everything comes from
the interconnect's spec (:meth:`geoflows.plan.Plan.interconnect_spec`) and
the job's options, both persisted with the job.
"""

from taskflow.patterns import graph_flow
from taskflow.patterns import linear_flow
from taskflow.patterns import unordered_flow

from geoflows.tasks import base
from geoflows.tasks import bgpvpn
from geoflows.tasks import ipsec
from geoflows.tasks import network
from geoflows.tasks import report

SIDES = ('local', 'remote')


class Layout(object):
    """The resources of one interconnect.

    ``managed``: what geoflows creates, by side, parents first.
    ``required``: existing resources the plan references.
    ``waits``: resources whose status must become ACTIVE.
    """

    def __init__(self, spec):
        self.spec = spec
        self.marker = base.marker(spec['plan'], spec['name'])
        self.prefix = 'gf-%s-%s' % (spec['plan'], spec['name'])
        self.managed = {role: [] for role in SIDES}
        self.required = []
        self.waits = []
        self.subnets = {role: [] for role in SIDES}
        self.interfaces = {role: [] for role in SIDES}
        overlay = spec['overlay']['type']
        if overlay == 'segments':
            self._segments()
            return
        for role in SIDES:
            self._endpoint(role, with_interfaces=(
                overlay == 'ipsec' or spec['overlay'].get('associate')
                == 'router'))
        getattr(self, '_' + overlay)()

    @property
    def resources(self):
        return self.managed['local'] + self.managed['remote']

    def _add(self, role, resource):
        self.managed[role].append(resource)
        return resource.key

    def _endpoint(self, role, with_interfaces):
        endpoint = self.spec[role]
        site = endpoint['site']
        for net in endpoint['networks']:
            net_key = self._add(role, network.Network(
                '%s.network.%s' % (role, net['name']), site, net['name'],
                marker=self.marker))
            self.subnets[role].append(self._add(role, network.Subnet(
                '%s.subnet.%s' % (role, net['name']), site, net['name'],
                parents={'network': net_key}, marker=self.marker,
                cidr=net['cidr'], gateway_ip=net.get('gateway_ip'))))
        for name in endpoint['subnets']:
            existing = network.ExistingSubnet(
                '%s.existing-subnet.%s' % (role, name), site, name)
            self.required.append(existing)
            self.subnets[role].append(existing.key)
        self.interfaces[role] = []
        router = endpoint['router']
        if router:
            router_key = self._add(role, network.Router(
                '%s.router' % role, site, router['name'], marker=self.marker,
                external_network=router.get('external_network')))
            if with_interfaces:
                for subnet_key in self.subnets[role]:
                    # e.g. local.interface.subnet.NAME or
                    # local.interface.existing-subnet.NAME
                    kind_and_name = subnet_key.split('.', 1)[1]
                    interface = network.RouterInterface(
                        '%s.interface.%s' % (role, kind_and_name), site,
                        kind_and_name.split('.', 1)[1], marker=self.marker,
                        router_name=router['name'],
                        parents={'router': router_key, 'subnet': subnet_key})
                    self.interfaces[role].append(self._add(role, interface))

    def _bgpvpn(self):
        overlay = self.spec['overlay']
        for role in SIDES:
            site = self.spec[role]['site']
            vpn_key = self._add(role, bgpvpn.Bgpvpn(
                '%s.bgpvpn' % role, site, self.prefix,
                parents={'route_targets': 'route_targets'},
                vpn_type=overlay['vpn_type']))
            if overlay['associate'] == 'router':
                # After the interfaces: what the router connects is what
                # the association exports (and the revert order follows).
                self._add(role, bgpvpn.RouterAssociation(
                    '%s.bgpvpn.router' % role, site,
                    self.spec[role]['router']['name'], vpn_name=self.prefix,
                    parents={'bgpvpn': vpn_key, 'router': '%s.router' % role},
                    after=self.interfaces[role]))
                continue
            for subnet_key in self.subnets[role]:
                # A managed network is associated through its own key; a
                # subnet the plan names, through its network's id.
                kind, target = subnet_key.split('.', 2)[1:]
                network_key = ('%s.network.%s' % (role, target)
                               if kind == 'subnet' else subnet_key)
                self._add(role, bgpvpn.NetworkAssociation(
                    '%s.bgpvpn.%s.%s' % (role, kind.replace(
                        'subnet', 'network'), target), site, target,
                    vpn_name=self.prefix,
                    parents={'bgpvpn': vpn_key, 'network': network_key}))

    def _ipsec(self):
        overlay = self.spec['overlay']
        for role in SIDES:
            site = self.spec[role]['site']
            self._add(role, ipsec.IkePolicy(
                '%s.ikepolicy' % role, site, self.prefix + '-ike',
                marker=self.marker, **overlay['ike']))
            self._add(role, ipsec.IpsecPolicy(
                '%s.ipsecpolicy' % role, site, self.prefix + '-ipsec',
                marker=self.marker, **overlay['ipsec']))
            # After the interfaces: Neutron refuses to remove an interface
            # whose subnet a site connection uses, so a revert must undo
            # the VPN before the interfaces.
            service = ipsec.VpnService(
                '%s.vpnservice' % role, site, self.prefix,
                parents={'router': '%s.router' % role}, marker=self.marker,
                after=self.interfaces[role])
            self._add(role, service)
            self.waits.append(service)
        for role, peer in (('local', 'remote'), ('remote', 'local')):
            site = self.spec[role]['site']
            self._add(role, ipsec.EndpointGroup(
                '%s.local-group' % role, site, self.prefix + '-local',
                marker=self.marker, group_type='subnet',
                parents={'subnet_%d' % i: key for i, key in
                         enumerate(self.subnets[role])}))
            self._add(role, ipsec.EndpointGroup(
                '%s.peer-group' % role, site, self.prefix + '-peer',
                marker=self.marker, group_type='cidr',
                parents={'peer_%d' % i: key for i, key in
                         enumerate(self.subnets[peer])}))
            connection = ipsec.SiteConnection(
                '%s.connection' % role, site, self.prefix,
                marker=self.marker, psk=overlay['psk'],
                after=['%s.vpnservice.active' % role,
                       '%s.vpnservice.active' % peer],
                purpose=ipsec.psk_purpose(self.spec), mtu=overlay['mtu'],
                initiator=overlay['initiator'],
                parents={'vpnservice': '%s.vpnservice' % role,
                         'ikepolicy': '%s.ikepolicy' % role,
                         'ipsecpolicy': '%s.ipsecpolicy' % role,
                         'local_group': '%s.local-group' % role,
                         'peer_group': '%s.peer-group' % role,
                         'peer': '%s.vpnservice' % peer})
            self._add(role, connection)
            self.waits.append(connection)

    def _segments(self):
        overlay = self.spec['overlay']
        local, remote = self.spec['local'], self.spec['remote']
        name = overlay.get('network') or self.prefix
        first_cell = local['site']['cell']
        net_key = self._add('local', network.Network(
            'network', local['site'], name, marker=self.marker,
            provider={'network_type': overlay['network_type'],
                      'physical_network': first_cell['physical_network'],
                      'segmentation_id': local['segment'].get(
                          'segmentation_id')},
            availability_zones=[local['site']['cell']['availability_zone'],
                                remote['site']['cell']['availability_zone']]))
        for role in SIDES:
            endpoint = self.spec[role]
            site = endpoint['site']
            cell_name = '%s-%s' % (name, site['name'])
            # The network is created with the first cell's segment; the
            # other cell's segment is added to it.
            segment = (network.FirstSegment if role == 'local'
                       else network.Segment)(
                '%s.segment' % role, site, cell_name, marker=self.marker,
                parents={'network': net_key},
                network_type=overlay['network_type'],
                physical_network=site['cell']['physical_network'],
                segmentation_id=endpoint['segment'].get('segmentation_id'))
            if role == 'local':
                self.required.append(segment)
            else:
                self._add(role, segment)
            segment_key = segment.key
            self._add(role, network.Subnet(
                '%s.subnet' % role, site, cell_name, marker=self.marker,
                parents={'network': net_key, 'segment': segment_key},
                cidr=endpoint['segment']['cidr'],
                gateway_ip=endpoint['segment'].get('gateway_ip')))


def setup(spec, options):
    """Build (and repair) the interconnect on both sides."""
    layout = Layout(spec)
    # A graph flow orders the steps by what they require and provide:
    # children after parents, the two sides in parallel.
    flow = graph_flow.Flow('interconnect-setup')
    if spec['overlay']['type'] == 'bgpvpn':
        flow.add(bgpvpn.AllocateRouteTargets(
            'route_targets', spec, options['route_target_pool'],
            [spec['local']['site'], spec['remote']['site']]))
    for resource in layout.required:
        flow.add(base.Require(resource))
    for resource in layout.resources:
        flow.add(base.Probe(resource), base.Ensure(resource))
    for resource in layout.waits:
        flow.add(linear_flow.Flow(resource.key + '.wait', retry=(
            base.PacedRetry(resource.key + '.retry',
                            options['active_attempts'],
                            options['active_interval']))).add(
            base.WaitActive(resource)))
    flow.add(report.SetupReport(spec, layout.resources))
    return flow


def check(spec, options):
    """Compare both sides with the plan (read-only)."""
    layout = Layout(spec)
    flow = graph_flow.Flow('interconnect-check')
    extra = []
    if spec['overlay']['type'] == 'bgpvpn':
        flow.add(bgpvpn.LookupRouteTargets('route_targets', spec))
        extra.append('route_targets')
    if spec['overlay']['type'] == 'ipsec':
        flow.add(ipsec.ComparePsk('psk', spec, layout.prefix))
        extra.append('psk')
    for resource in layout.required + layout.resources:
        flow.add(base.Probe(resource, provides=resource.key))
    flow.add(report.CheckReport(spec, layout.resources, layout.required,
                                extra=extra))
    return flow


def teardown(spec, options):
    """Delete what geoflows created for the interconnect, on both sides."""
    layout = Layout(spec)
    probes = graph_flow.Flow('probes')
    if spec['overlay']['type'] == 'bgpvpn':
        # The BGPVPNs' probes need the route targets as parent input.
        probes.add(bgpvpn.LookupRouteTargets('route_targets', spec))
    for resource in layout.required + layout.resources:
        probes.add(base.Probe(resource, provides=resource.key))
    deletes = unordered_flow.Flow('deletes')
    chains = ([layout.resources] if spec['overlay']['type'] == 'segments'
              else [layout.managed[role] for role in SIDES])
    for chain in chains:
        deletes.add(linear_flow.Flow('delete-%d' % len(deletes)).add(
            *[base.Delete(r) for r in reversed(chain)]))
    flow = linear_flow.Flow('interconnect-teardown').add(probes, deletes)
    if spec['overlay']['type'] == 'bgpvpn':
        flow.add(bgpvpn.ReleaseRouteTargets('release_route_targets', spec))
    flow.add(report.TeardownReport(spec, layout.resources))
    return flow
