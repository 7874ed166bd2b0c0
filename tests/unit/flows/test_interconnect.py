"""Tests of the interconnect flows: their layout, shape and runs.

The runs use a Taskflow engine directly (no job runner) on the fake cloud
of CloudTestCase.
"""

import collections

from taskflow import engines

from geoflows import context
from geoflows import exceptions
from geoflows import flows
from geoflows.flows import interconnect
from geoflows import runner
from geoflows.tasks import base
from geoflows.tasks import bgpvpn
from geoflows.tasks import ipsec
from geoflows.tasks import network
from tests.unit import base as testbase

OPTIONS = testbase.OPTIONS
FACTORIES = (interconnect.setup, interconnect.check, interconnect.teardown)


def spec_of(name, data=None):
    plan = testbase.make_plan(data)
    return plan.interconnect_spec(plan.interconnect(name))


def keys(resources):
    return [r.key for r in resources]


# -- what each interconnect of the test plan is made of ----------------------

BGPVPN_LOCAL = ['local.network.infra-p', 'local.subnet.infra-p',
                'local.bgpvpn', 'local.bgpvpn.network.infra-p']
BGPVPN_REMOTE = ['remote.network.infra-l', 'remote.subnet.infra-l',
                 'remote.bgpvpn', 'remote.bgpvpn.network.infra-l']
IPSEC_LOCAL = ['local.network.oam-p', 'local.subnet.oam-p', 'local.router',
               'local.interface.subnet.oam-p', 'local.ikepolicy',
               'local.ipsecpolicy', 'local.vpnservice', 'local.local-group',
               'local.peer-group', 'local.connection']
IPSEC_REMOTE = ['remote.network.oam-l', 'remote.subnet.oam-l',
                'remote.router', 'remote.interface.subnet.oam-l',
                'remote.ikepolicy', 'remote.ipsecpolicy',
                'remote.vpnservice', 'remote.local-group',
                'remote.peer-group', 'remote.connection']
SEGMENTS_LOCAL = ['network', 'local.subnet']
SEGMENTS_REMOTE = ['remote.segment', 'remote.subnet']

# The tables of the fake cloud.
KINDS = ('network', 'subnet', 'segment', 'router', 'port', 'bgpvpn',
         'bgpvpn_network_association', 'bgpvpn_router_association',
         'ikepolicy', 'ipsecpolicy', 'vpnservice', 'endpoint_group',
         'ipsec_site_connection')


class LayoutTest(testbase.TestCase):

    def layout(self, name, data=None):
        return interconnect.Layout(spec_of(name, data))

    def test_bgpvpn_resources_per_side_parents_first(self):
        layout = self.layout('vpn')
        self.assertEqual((BGPVPN_LOCAL, BGPVPN_REMOTE, []),
                         (keys(layout.managed['local']),
                          keys(layout.managed['remote']),
                          keys(layout.required)))

    def test_ipsec_resources_per_side_parents_first(self):
        layout = self.layout('sec')
        self.assertEqual((IPSEC_LOCAL, IPSEC_REMOTE, []),
                         (keys(layout.managed['local']),
                          keys(layout.managed['remote']),
                          keys(layout.required)))

    def test_segments_resources_per_side_parents_first(self):
        layout = self.layout('cells')
        self.assertEqual((SEGMENTS_LOCAL, SEGMENTS_REMOTE, ['local.segment']),
                         (keys(layout.managed['local']),
                          keys(layout.managed['remote']),
                          keys(layout.required)))

    def test_every_parent_comes_before_its_children(self):
        for name in ('vpn', 'sec', 'cells'):
            layout = self.layout(name)
            known = set(keys(layout.required)) | {'route_targets'}
            for role in interconnect.SIDES:
                known |= set(keys(layout.managed[role]))
            for role in interconnect.SIDES:
                side = keys(layout.managed[role])
                for index, resource in enumerate(layout.managed[role]):
                    for parent in resource.parents.values():
                        self.assertIn(parent, known, resource.key)
                        if parent in side:
                            self.assertLess(side.index(parent), index,
                                            (resource.key, parent))

    def test_resources_are_all_managed_sides(self):
        layout = self.layout('sec')
        self.assertEqual(IPSEC_LOCAL + IPSEC_REMOTE, keys(layout.resources))

    def test_ipsec_waits_on_vpn_services_and_connections(self):
        self.assertEqual(['local.vpnservice', 'remote.vpnservice',
                          'local.connection', 'remote.connection'],
                         keys(self.layout('sec').waits))

    def test_bgpvpn_and_segments_wait_on_nothing(self):
        self.assertEqual(([], []), (self.layout('vpn').waits,
                                    self.layout('cells').waits))

    def test_ipsec_connections_point_at_the_other_side(self):
        layout = self.layout('sec')
        connections = {r.key: r.parents['peer'] for r in layout.resources
                       if isinstance(r, ipsec.SiteConnection)}
        self.assertEqual({'local.connection': 'remote.vpnservice',
                          'remote.connection': 'local.vpnservice'},
                         connections)

    def test_ipsec_peer_groups_hold_the_other_sides_subnets(self):
        layout = self.layout('sec')
        groups = {r.key: r.parents for r in layout.resources
                  if r.key.endswith('.peer-group')}
        self.assertEqual({'local.peer-group': {
                          'peer_0': 'remote.subnet.oam-l'},
                          'remote.peer-group': {
                          'peer_0': 'local.subnet.oam-p'}}, groups)

    def test_created_resources_carry_the_marker(self):
        layout = self.layout('sec')
        markers = {r.marker for r in layout.resources
                   if not isinstance(r, network.RouterInterface)}
        self.assertEqual({base.marker('test', 'sec')}, markers)

    def test_segments_network_is_on_the_local_cell_site(self):
        [net] = self.layout('cells').managed['local'][:1]
        self.assertEqual(('network', 'gf-test-cells', 'cell1'),
                         (net.key, net.name, net.site['name']))

    def test_segments_network_has_the_local_cell_provider_attributes(self):
        [net] = self.layout('cells').managed['local'][:1]
        self.assertEqual({'network_type': 'vlan',
                          'physical_network': 'physnet1',
                          'segmentation_id': 110}, net.params['provider'])

    def test_segments_network_is_hinted_to_both_zones(self):
        [net] = self.layout('cells').managed['local'][:1]
        self.assertEqual(['az1', 'az2'], net.params['availability_zones'])

    def test_segments_first_segment_is_required(self):
        [first] = self.layout('cells').required
        self.assertIsInstance(first, network.FirstSegment)
        self.assertEqual(
            ('local.segment', 'cell1', {'network': 'network'},
             {'network_type': 'vlan', 'physical_network': 'physnet1',
              'segmentation_id': 110}),
            (first.key, first.site['name'], first.parents, first.params))

    def test_segments_remote_segment_is_on_the_remote_cell(self):
        segment = self.layout('cells').managed['remote'][0]
        self.assertEqual(
            (network.Segment, 'cell2', 'physnet2', 210),
            (type(segment), segment.site['name'],
             segment.params['physical_network'],
             segment.params['segmentation_id']))

    def test_segments_subnets_hang_off_their_cells_segment(self):
        layout = self.layout('cells')
        self.assertEqual(
            [{'network': 'network', 'segment': 'local.segment'},
             {'network': 'network', 'segment': 'remote.segment'}],
            [r.parents for r in layout.resources
             if isinstance(r, network.Subnet)])

    def test_segments_network_may_be_named_by_the_plan(self):
        data = testbase.plan_data()
        data['interconnects'][2]['overlay']['network'] = 'cells-net'
        layout = self.layout('cells', data)
        self.assertEqual(['cells-net', 'cells-net-cell1', 'cells-net-cell2',
                          'cells-net-cell2'],
                         [r.name for r in layout.resources])

    def test_bgpvpn_router_association(self):
        data = testbase.plan_data()
        vpn = data['interconnects'][0]
        vpn['overlay']['associate'] = 'router'
        vpn['local']['router'] = {'name': 'vpn-edge-p'}
        vpn['remote']['router'] = {'name': 'vpn-edge-l'}
        layout = self.layout('vpn', data)
        self.assertEqual(
            ['local.network.infra-p', 'local.subnet.infra-p', 'local.router',
             'local.interface.subnet.infra-p', 'local.bgpvpn',
             'local.bgpvpn.router'], keys(layout.managed['local']))
        association = layout.managed['local'][-1]
        self.assertIsInstance(association, bgpvpn.RouterAssociation)
        self.assertEqual({'bgpvpn': 'local.bgpvpn', 'router': 'local.router'},
                         association.parents)

    def test_existing_subnets_are_required_and_associated(self):
        data = testbase.plan_data()
        data['interconnects'][0]['local']['subnets'] = ['shared']
        layout = self.layout('vpn', data)
        self.assertEqual(['local.existing-subnet.shared'],
                         keys(layout.required))
        association = layout.managed['local'][-1]
        self.assertEqual(
            ('local.bgpvpn.existing-network.shared',
             {'bgpvpn': 'local.bgpvpn',
              'network': 'local.existing-subnet.shared'}),
            (association.key, association.parents))


class NamesTest(testbase.TestCase):

    def test_a_network_and_an_existing_subnet_of_one_name(self):
        data = testbase.plan_data()
        data['interconnects'][1]['local']['subnets'] = ['oam-p']
        flow = interconnect.setup(spec_of('sec', data), OPTIONS)
        names = runner.atom_names(flow)
        self.assertIn('local.interface.subnet.oam-p', names)
        self.assertIn('local.interface.existing-subnet.oam-p', names)
        self.assertEqual(len(names), len(set(names)))

    def test_a_network_and_an_existing_subnet_of_one_name_in_a_bgpvpn(self):
        data = testbase.plan_data()
        data['interconnects'][0]['local']['subnets'] = ['infra-p']
        flow = interconnect.setup(spec_of('vpn', data), OPTIONS)
        names = runner.atom_names(flow)
        self.assertIn('local.bgpvpn.network.infra-p', names)
        self.assertIn('local.bgpvpn.existing-network.infra-p', names)

    def test_vpn_services_come_after_the_router_interfaces(self):
        # So that a revert removes them (and the connections) before it
        # removes the interfaces, which Neutron refuses otherwise.
        flow = interconnect.setup(spec_of('sec'), OPTIONS)
        [service] = [node for node, _ in flow.iter_nodes()
                     if node.name == 'local.vpnservice']
        self.assertIn('local.interface.subnet.oam-p', service.requires)

    def test_router_associations_come_after_the_router_interfaces(self):
        data = testbase.plan_data()
        data['interconnects'][0]['local']['router'] = {'name': 'r1'}
        data['interconnects'][0]['remote']['router'] = {'name': 'r2'}
        data['interconnects'][0]['overlay']['associate'] = 'router'
        flow = interconnect.setup(spec_of('vpn', data), OPTIONS)
        [association] = [node for node, _ in flow.iter_nodes()
                         if node.name == 'local.bgpvpn.router']
        self.assertIn('local.interface.subnet.infra-p', association.requires)

    def test_connections_wait_for_both_vpn_services(self):
        flow = interconnect.setup(spec_of('sec'), OPTIONS)
        [connection] = [node for node, _ in flow.iter_nodes()
                        if node.name == 'local.connection']
        self.assertIn('local.vpnservice.active', connection.requires)
        self.assertIn('remote.vpnservice.active', connection.requires)


class FlowShapeContract(object):
    """The shape of the three flows of one interconnect of the test plan.

    A test class names the interconnect and lists, for each factory, the
    exact inputs the flow requires and the results it provides.
    """

    interconnect = None
    setup_requires = frozenset()
    setup_provides = frozenset()
    check_requires = frozenset()
    check_provides = frozenset()
    teardown_requires = frozenset()
    teardown_provides = frozenset()

    def spec(self):
        return spec_of(self.interconnect)

    def build(self, factory):
        return factory(self.spec(), OPTIONS)

    def test_setup_requires(self):
        self.assertEqual(set(self.setup_requires),
                         set(self.build(interconnect.setup).requires))

    def test_setup_provides(self):
        self.assertEqual(set(self.setup_provides),
                         set(self.build(interconnect.setup).provides))

    def test_check_requires(self):
        self.assertEqual(set(self.check_requires),
                         set(self.build(interconnect.check).requires))

    def test_check_provides(self):
        self.assertEqual(set(self.check_provides),
                         set(self.build(interconnect.check).provides))

    def test_teardown_requires(self):
        self.assertEqual(set(self.teardown_requires),
                         set(self.build(interconnect.teardown).requires))

    def test_teardown_provides(self):
        self.assertEqual(set(self.teardown_provides),
                         set(self.build(interconnect.teardown).provides))

    def test_atom_names_are_unique(self):
        for factory in FACTORIES:
            names = runner.atom_names(self.build(factory))
            duplicates = [n for n, count in collections.Counter(
                names).items() if count > 1]
            self.assertEqual([], duplicates, factory.__name__)

    def test_factories_do_no_io(self):
        previous = context.install(None)
        self.addCleanup(context.install, previous)
        for factory in FACTORIES:
            self.assertIsNotNone(self.build(factory))
        self.assertRaises(RuntimeError, context.current)

    def test_rebuilding_gives_the_same_atom_names(self):
        for factory in FACTORIES:
            self.assertEqual(runner.atom_names(self.build(factory)),
                             runner.atom_names(self.build(factory)),
                             factory.__name__)

    def test_registered_factories_build_the_same_flows(self):
        for factory in FACTORIES:
            flow = flows.build('interconnect.' + factory.__name__,
                               self.spec(), OPTIONS)
            self.assertEqual(runner.atom_names(self.build(factory)),
                             runner.atom_names(flow))


class BgpvpnFlowShapeTest(FlowShapeContract, testbase.TestCase):

    interconnect = 'vpn'
    setup_requires = {'job_id'}
    setup_provides = {
        'route_targets',
        'local.network.infra-p', 'local.network.infra-p.before',
        'local.subnet.infra-p', 'local.subnet.infra-p.before',
        'local.bgpvpn', 'local.bgpvpn.before',
        'local.bgpvpn.network.infra-p',
        'local.bgpvpn.network.infra-p.before',
        'remote.network.infra-l', 'remote.network.infra-l.before',
        'remote.subnet.infra-l', 'remote.subnet.infra-l.before',
        'remote.bgpvpn', 'remote.bgpvpn.before',
        'remote.bgpvpn.network.infra-l',
        'remote.bgpvpn.network.infra-l.before',
        'report',
    }
    check_provides = {
        'route_targets',
        'local.network.infra-p', 'local.subnet.infra-p', 'local.bgpvpn',
        'local.bgpvpn.network.infra-p',
        'remote.network.infra-l', 'remote.subnet.infra-l', 'remote.bgpvpn',
        'remote.bgpvpn.network.infra-l',
        'report',
    }
    teardown_provides = {
        'route_targets',
        'local.network.infra-p', 'local.network.infra-p.deleted',
        'local.subnet.infra-p', 'local.subnet.infra-p.deleted',
        'local.bgpvpn', 'local.bgpvpn.deleted',
        'local.bgpvpn.network.infra-p',
        'local.bgpvpn.network.infra-p.deleted',
        'remote.network.infra-l', 'remote.network.infra-l.deleted',
        'remote.subnet.infra-l', 'remote.subnet.infra-l.deleted',
        'remote.bgpvpn', 'remote.bgpvpn.deleted',
        'remote.bgpvpn.network.infra-l',
        'remote.bgpvpn.network.infra-l.deleted',
        'report',
    }

    def test_teardown_releases_the_route_target_after_deleting(self):
        names = runner.atom_names(self.build(interconnect.teardown))
        self.assertEqual(['release_route_targets', 'report'], names[-2:])


class IpsecFlowShapeTest(FlowShapeContract, testbase.TestCase):

    interconnect = 'sec'
    setup_provides = {
        'local.network.oam-p', 'local.network.oam-p.before',
        'local.subnet.oam-p', 'local.subnet.oam-p.before',
        'local.router', 'local.router.before',
        'local.interface.subnet.oam-p',
        'local.interface.subnet.oam-p.before',
        'local.ikepolicy', 'local.ikepolicy.before',
        'local.ipsecpolicy', 'local.ipsecpolicy.before',
        'local.vpnservice', 'local.vpnservice.before',
        'local.local-group', 'local.local-group.before',
        'local.peer-group', 'local.peer-group.before',
        'local.connection', 'local.connection.before',
        'remote.network.oam-l', 'remote.network.oam-l.before',
        'remote.subnet.oam-l', 'remote.subnet.oam-l.before',
        'remote.router', 'remote.router.before',
        'remote.interface.subnet.oam-l',
        'remote.interface.subnet.oam-l.before',
        'remote.ikepolicy', 'remote.ikepolicy.before',
        'remote.ipsecpolicy', 'remote.ipsecpolicy.before',
        'remote.vpnservice', 'remote.vpnservice.before',
        'remote.local-group', 'remote.local-group.before',
        'remote.peer-group', 'remote.peer-group.before',
        'remote.connection', 'remote.connection.before',
        # the waits for ACTIVE
        'local.vpnservice.active', 'remote.vpnservice.active',
        'local.connection.active', 'remote.connection.active',
        'report',
    }
    check_provides = {
        'psk',
        'local.network.oam-p', 'local.subnet.oam-p', 'local.router',
        'local.interface.subnet.oam-p', 'local.ikepolicy', 'local.ipsecpolicy',
        'local.vpnservice', 'local.local-group', 'local.peer-group',
        'local.connection',
        'remote.network.oam-l', 'remote.subnet.oam-l', 'remote.router',
        'remote.interface.subnet.oam-l', 'remote.ikepolicy',
        'remote.ipsecpolicy',
        'remote.vpnservice', 'remote.local-group', 'remote.peer-group',
        'remote.connection',
        'report',
    }
    teardown_provides = {
        'local.network.oam-p', 'local.network.oam-p.deleted',
        'local.subnet.oam-p', 'local.subnet.oam-p.deleted',
        'local.router', 'local.router.deleted',
        'local.interface.subnet.oam-p', 'local.interface.subnet.oam-p.deleted',
        'local.ikepolicy', 'local.ikepolicy.deleted',
        'local.ipsecpolicy', 'local.ipsecpolicy.deleted',
        'local.vpnservice', 'local.vpnservice.deleted',
        'local.local-group', 'local.local-group.deleted',
        'local.peer-group', 'local.peer-group.deleted',
        'local.connection', 'local.connection.deleted',
        'remote.network.oam-l', 'remote.network.oam-l.deleted',
        'remote.subnet.oam-l', 'remote.subnet.oam-l.deleted',
        'remote.router', 'remote.router.deleted',
        'remote.interface.subnet.oam-l',
        'remote.interface.subnet.oam-l.deleted',
        'remote.ikepolicy', 'remote.ikepolicy.deleted',
        'remote.ipsecpolicy', 'remote.ipsecpolicy.deleted',
        'remote.vpnservice', 'remote.vpnservice.deleted',
        'remote.local-group', 'remote.local-group.deleted',
        'remote.peer-group', 'remote.peer-group.deleted',
        'remote.connection', 'remote.connection.deleted',
        'report',
    }

    def test_setup_waits_in_paced_retries(self):
        names = runner.atom_names(self.build(interconnect.setup))
        waits = ['local.vpnservice', 'remote.vpnservice', 'local.connection',
                 'remote.connection']
        for key in waits:
            self.assertLess(names.index(key + '.retry'),
                            names.index(key + '.active'), key)


class SegmentsFlowShapeTest(FlowShapeContract, testbase.TestCase):

    interconnect = 'cells'
    setup_provides = {
        'network', 'network.before',
        'local.segment',
        'local.subnet', 'local.subnet.before',
        'remote.segment', 'remote.segment.before',
        'remote.subnet', 'remote.subnet.before',
        'report',
    }
    check_provides = {
        'network', 'local.segment', 'local.subnet', 'remote.segment',
        'remote.subnet', 'report',
    }
    teardown_provides = {
        'network', 'network.deleted',
        'local.segment',
        'local.subnet', 'local.subnet.deleted',
        'remote.segment', 'remote.segment.deleted',
        'remote.subnet', 'remote.subnet.deleted',
        'report',
    }

    def test_teardown_deletes_in_one_chain_children_first(self):
        names = runner.atom_names(self.build(interconnect.teardown))
        self.assertEqual(['remote.subnet.delete', 'remote.segment.delete',
                          'local.subnet.delete', 'network.delete'],
                         [n for n in names if n.endswith('.delete')])


class FlowRunContract(object):
    """Setup, check and teardown of one interconnect, run by an engine.

    A test class names the interconnect, what its setup creates on each
    fake site (kind and name; unnamed resources as ''), and a call that
    fails on one site (``fault``: region and proxy method).
    """

    interconnect = None
    created = {}
    fault = None

    def setUp(self):
        super().setUp()
        self.spec = spec_of(self.interconnect)
        self.initial = self.inventory()

    def run_flow(self, factory):
        return engines.run(factory(self.spec, OPTIONS),
                           store={'job_id': 'j1'})

    def contents(self):
        """{region: Counter of (kind, name)} of what the sites hold."""
        return {region: collections.Counter(
            (kind, r.get('name') or '') for kind in KINDS
            for r in self.site(region)._raw_network.resources(kind))
            for region in ('paris', 'lyon')}

    def test_setup_creates_the_resources_on_both_sites(self):
        before = self.contents()
        self.run_flow(interconnect.setup)
        after = self.contents()
        self.assertEqual(
            {region: sorted(names) for region, names in self.created.items()},
            {region: sorted((after[region] - before[region]).elements())
             for region in after})

    def test_setup_reports_what_it_created(self):
        result = self.run_flow(interconnect.setup)['report']
        self.assertEqual(
            (len(self.layout().resources), len(self.layout().resources)),
            (result['created'], len(result['resources'])))

    def test_second_setup_creates_nothing(self):
        self.run_flow(interconnect.setup)
        inventory = self.inventory()
        result = self.run_flow(interconnect.setup)['report']
        self.assertEqual(inventory, self.inventory())
        self.assertEqual(0, result['created'])

    def test_check_after_setup_is_ok(self):
        self.run_flow(interconnect.setup)
        result = self.run_flow(interconnect.check)['report']
        self.assertEqual(('ok', []), (result['status'], result['findings']))

    def test_teardown_deletes_everything_geoflows_created(self):
        self.run_flow(interconnect.setup)
        result = self.run_flow(interconnect.teardown)['report']
        self.assertEqual(self.initial, self.inventory())
        self.assertEqual(len(self.layout().resources), result['deleted'])

    def test_teardown_leaves_the_public_network(self):
        self.run_flow(interconnect.setup)
        self.run_flow(interconnect.teardown)
        for region in ('paris', 'lyon'):
            self.assertEqual(
                ['public'], [n.name for n in self.site(region).network
                             .networks()], region)

    def test_second_teardown_is_noop(self):
        self.run_flow(interconnect.setup)
        self.run_flow(interconnect.teardown)
        result = self.run_flow(interconnect.teardown)['report']
        self.assertEqual((0, []), (result['deleted'], result['resources']))
        self.assertEqual(self.initial, self.inventory())

    def test_check_after_teardown_reports_drift(self):
        self.run_flow(interconnect.setup)
        self.run_flow(interconnect.teardown)
        result = self.run_flow(interconnect.check)['report']
        self.assertEqual('drift', result['status'])
        self.assertTrue(all(f['problem'].startswith('is missing')
                            for f in result['findings']), result['findings'])

    def test_fault_during_setup_reverts_both_sites(self):
        region, method = self.fault
        self.site(region).fail(method)
        self.assertRaises(exceptions.SiteError, self.run_flow,
                          interconnect.setup)
        self.assertEqual(self.initial, self.inventory())

    def layout(self):
        return interconnect.Layout(self.spec)


class BgpvpnFlowRunTest(FlowRunContract, testbase.CloudTestCase):

    interconnect = 'vpn'
    fault = ('lyon', 'create_bgpvpn_network_association')
    created = {
        'paris': [('network', 'infra-p'), ('segment', ''),
                  ('subnet', 'infra-p'), ('bgpvpn', 'gf-test-vpn'),
                  ('bgpvpn_network_association', '')],
        'lyon': [('network', 'infra-l'), ('segment', ''),
                 ('subnet', 'infra-l'), ('bgpvpn', 'gf-test-vpn'),
                 ('bgpvpn_network_association', '')],
    }

    def route_targets(self, region):
        return [v.route_targets for v in self.site(region).network.bgpvpns()]

    def test_setup_gives_both_sides_the_allocated_route_target(self):
        self.run_flow(interconnect.setup)
        self.assertEqual('64512:1000', self.store.route_target_of('test/vpn'))
        self.assertEqual(([['64512:1000']], [['64512:1000']]),
                         (self.route_targets('paris'),
                          self.route_targets('lyon')))

    def test_teardown_releases_the_route_target(self):
        self.run_flow(interconnect.setup)
        self.run_flow(interconnect.teardown)
        self.assertIsNone(self.store.route_target_of('test/vpn'))

    def test_failed_setup_releases_the_route_target(self):
        self.site('lyon').fail('create_bgpvpn')
        self.assertRaises(exceptions.SiteError, self.run_flow,
                          interconnect.setup)
        self.assertIsNone(self.store.route_target_of('test/vpn'))

    def test_teardown_keeps_what_it_adopted(self):
        existing = self.site('paris').network.create_network(name='infra-p')
        self.run_flow(interconnect.setup)
        result = self.run_flow(interconnect.teardown)['report']
        self.assertEqual(
            [existing.id],
            [n.id for n in self.site('paris').network.networks(
                name='infra-p')])
        [kept] = [r for r in result['resources'] if r['action'] == 'kept']
        self.assertEqual(('paris', 'network', 'not created by geoflows'),
                         (kept['site'], kept['kind'], kept['reason']))


class IpsecFlowRunTest(FlowRunContract, testbase.CloudTestCase):

    interconnect = 'sec'
    fault = ('lyon', 'create_vpn_ipsec_site_connection')
    created = {
        region: [('network', net), ('segment', ''), ('subnet', net),
                 ('router', router), ('port', ''),
                 ('ikepolicy', 'gf-test-sec-ike'),
                 ('ipsecpolicy', 'gf-test-sec-ipsec'),
                 ('vpnservice', 'gf-test-sec'),
                 ('endpoint_group', 'gf-test-sec-local'),
                 ('endpoint_group', 'gf-test-sec-peer'),
                 ('ipsec_site_connection', 'gf-test-sec')]
        for region, net, router in (('paris', 'oam-p', 'edge-p'),
                                    ('lyon', 'oam-l', 'edge-l'))
    }

    def test_setup_waits_until_vpn_resources_are_active(self):
        for region in ('paris', 'lyon'):
            self.site(region).reads_until_active = 2
        self.run_flow(interconnect.setup)
        statuses = [c.status for region in ('paris', 'lyon')
                    for c in self.site(region)._raw_network.resources(
                        'ipsec_site_connection')]
        self.assertEqual(['ACTIVE', 'ACTIVE'], statuses)

    def test_connections_point_at_each_other(self):
        self.run_flow(interconnect.setup)
        [paris_vpn] = self.site('paris').network.vpn_services()
        [lyon_vpn] = self.site('lyon').network.vpn_services()
        [paris_conn] = self.site('paris').network.vpn_ipsec_site_connections()
        [lyon_conn] = self.site('lyon').network.vpn_ipsec_site_connections()
        self.assertEqual(
            (lyon_vpn.external_v4_ip, paris_vpn.external_v4_ip),
            (paris_conn.peer_address, lyon_conn.peer_address))

    def test_both_sides_get_the_same_psk(self):
        self.run_flow(interconnect.setup)
        psk = self.resolver.resolve({'derive': True}, 'psk/test/sec')
        self.assertEqual(
            [psk, psk],
            [c.psk for region in ('paris', 'lyon')
             for c in self.site(region)._raw_network.resources(
                 'ipsec_site_connection')])

    def test_check_finds_a_changed_psk(self):
        self.run_flow(interconnect.setup)
        [conn] = self.site('lyon')._raw_network.resources(
            'ipsec_site_connection')
        self.site('lyon')._raw_network._update('ipsec_site_connection',
                                               conn.id, psk='rotated-key')
        result = self.run_flow(interconnect.check)['report']
        self.assertEqual(
            ('drift', [{'site': 'lyon', 'resource': 'IPsec site connection',
                        'problem': "its pre-shared key differs from the "
                                   "plan's source"}]),
            (result['status'], result['findings']))


class SegmentsFlowRunTest(FlowRunContract, testbase.CloudTestCase):

    interconnect = 'cells'
    fault = ('paris', 'create_segment')
    created = {
        'paris': [('network', 'gf-test-cells'), ('segment', ''),
                  ('segment', 'gf-test-cells-cell2'),
                  ('subnet', 'gf-test-cells-cell1'),
                  ('subnet', 'gf-test-cells-cell2')],
        'lyon': [],
    }

    def test_network_spans_both_cells(self):
        self.run_flow(interconnect.setup)
        [net] = self.site('paris').network.networks(name='gf-test-cells')
        segments = sorted(
            (s.physical_network, s.segmentation_id)
            for s in self.site('paris').network.segments(network_id=net.id))
        self.assertEqual(
            (['az1', 'az2'], [('physnet1', 110), ('physnet2', 210)]),
            (net.availability_zone_hints, segments))

    def test_subnets_are_on_their_cells_segments(self):
        self.run_flow(interconnect.setup)
        net = self.site('paris').network
        physnets = {s.id: s.physical_network for s in net.segments()}
        self.assertEqual(
            {'gf-test-cells-cell1': 'physnet1',
             'gf-test-cells-cell2': 'physnet2'},
            {s.name: physnets[s.segment_id] for s in net.subnets()
             if s.name and s.name.startswith('gf-test-cells')})
