"""Tests of the Neutron core resources (geoflows.tasks.network)."""

from geoflows import exceptions
from geoflows.tasks import base
from geoflows.tasks import network
from tests.unit import base as testbase
from tests.unit.tasks import test_base as contract

PARIS = contract.PARIS
MARKER = contract.MARKER
CELL_NETWORK = {'provider_network_type': 'vlan',
                'provider_physical_network': 'physnet1',
                'provider_segmentation_id': 110,
                'availability_zone_hints': ['az1', 'az2']}


def subnet_resource(cidr='10.1.0.0/24', **params):
    return network.Subnet('local.subnet.infra', PARIS, 'infra',
                          parents={'network': 'local.network.infra'},
                          marker=MARKER, cidr=cidr, **params)


def router_resource(**params):
    return network.Router('local.router', PARIS, 'edge', marker=MARKER,
                          **params)


def interface_resource():
    return network.RouterInterface(
        'local.interface.infra', PARIS, 'infra', router_name='edge',
        parents={'router': 'local.router', 'subnet': 'local.subnet.infra'})


def segment_resource(cls=network.Segment, physical_network='physnet2',
                     segmentation_id=210):
    return cls('remote.segment', PARIS, 'gf-test-cells-cell2',
               marker=MARKER, parents={'network': 'network'},
               network_type='vlan', physical_network=physical_network,
               segmentation_id=segmentation_id)


class NetworkContractTest(contract.ResourceContract, testbase.CloudTestCase):

    table = 'network'
    delete_method = 'delete_network'
    fields = {'availability_zone_hints'}

    def make_resource(self):
        return network.Network('local.network.infra', PARIS, 'infra',
                               marker=MARKER)

    def make_existing(self):
        return self.net().create_network(name='infra').id


class SubnetContractTest(contract.ResourceContract, contract.ChildContract,
                         testbase.CloudTestCase):

    table = 'subnet'
    delete_method = 'delete_subnet'
    fields = {'cidr', 'network_id', 'segment_id'}

    def make_parents(self):
        return {'network': self.make_network()}

    def make_resource(self):
        return subnet_resource()

    def make_existing(self):
        return self.net().create_subnet(self.parents['network']['id'],
                                        '10.1.0.0/24', name='theirs').id


class RouterContractTest(contract.ResourceContract, testbase.CloudTestCase):

    table = 'router'
    delete_method = 'delete_router'
    fields = {'external_network_id'}

    def make_resource(self):
        return router_resource(external_network='public')

    def make_existing(self):
        return self.make_router(owned=False)['id']


class RouterInterfaceContractTest(contract.ResourceContract,
                                  contract.ChildContract,
                                  testbase.CloudTestCase):

    table = 'port'
    delete_method = 'remove_interface_from_router'
    existing_owned = True  # its router and subnet are geoflows'

    def delete_args(self, resource_id):
        return (self.parents['router']['id'], None, resource_id)

    def make_parents(self):
        return {'router': self.make_router(),
                'subnet': self.make_subnet(self.make_network())}

    def make_resource(self):
        return interface_resource()

    def make_existing(self):
        return self.net().add_interface_to_router(
            self.parents['router']['id'],
            subnet_id=self.parents['subnet']['id'])['port_id']


class SegmentContractTest(contract.ResourceContract, contract.ChildContract,
                          testbase.CloudTestCase):

    table = 'segment'
    delete_method = 'delete_segment'
    fields = {'physical_network', 'segmentation_id', 'network_type'}

    def make_parents(self):
        return {'network': self.make_network('gf-test-cells',
                                             **CELL_NETWORK)}

    def make_resource(self):
        return segment_resource()

    def make_existing(self):
        return self.net().create_segment(
            self.parents['network']['id'], 'vlan',
            physical_network='physnet2', segmentation_id=210).id


class NetworkTest(contract.SiteFixtures, testbase.CloudTestCase):

    def raw_network(self, network_id):
        return self.net().get_network(network_id)

    def test_create_sets_provider_attributes_and_zones(self):
        resource = network.Network(
            'network', PARIS, 'gf-test-cells', marker=MARKER,
            provider={'network_type': 'vlan',
                      'physical_network': 'physnet1',
                      'segmentation_id': 110},
            availability_zones=['az1', 'az2'])
        result = base.Ensure(resource).execute(before=None)
        raw = self.raw_network(result['id'])
        self.assertEqual(
            ('vlan', 'physnet1', ['az1', 'az2'], MARKER),
            (raw.provider_network_type, raw.provider_physical_network,
             raw.availability_zone_hints, raw.description))
        [segment] = self.net().segments(network_id=result['id'])
        self.assertEqual(110, segment.segmentation_id)

    def test_create_without_segmentation_id_lets_neutron_choose(self):
        resource = network.Network(
            'network', PARIS, 'flat-net', marker=MARKER,
            provider={'network_type': 'flat',
                      'physical_network': 'physnet1',
                      'segmentation_id': None})
        result = base.Ensure(resource).execute(before=None)
        [segment] = self.net().segments(network_id=result['id'])
        self.assertIsNone(segment.segmentation_id)

    def test_description_lists_availability_zone_hints(self):
        self.make_network('gf-test-cells', **CELL_NETWORK)
        resource = network.Network('network', PARIS, 'gf-test-cells')
        self.assertEqual(['az1', 'az2'], base.Probe(resource).execute()[
            'availability_zone_hints'])

    def test_drift_names_missing_zones(self):
        resource = network.Network('network', PARIS, 'gf-test-cells',
                                   availability_zones=['az1', 'az2'])
        self.assertEqual(['availability zone hints lack az2'],
                         resource.drift({'availability_zone_hints': ['az1']},
                                        {}))

    def test_no_drift_when_zones_are_hinted(self):
        resource = network.Network('network', PARIS, 'gf-test-cells',
                                   availability_zones=['az1', 'az2'])
        self.assertEqual([], resource.drift(
            {'availability_zone_hints': ['az2', 'az1']}, {}))

    def test_duplicate_names_are_an_error(self):
        self.make_network('infra')
        self.make_network('infra')
        resource = network.Network('local.network.infra', PARIS, 'infra')
        error = self.assertRaises(exceptions.ResourceError,
                                  base.Probe(resource).execute)
        self.assertIn("found 2 networks named 'infra'", str(error))


class SubnetTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.network = self.make_network()

    def test_subnet_of_another_cidr_is_not_it(self):
        self.make_subnet(self.network, '10.9.0.0/24')
        self.assertIsNone(base.Probe(subnet_resource()).execute(
            network=self.network))

    def test_subnet_of_another_network_is_not_it(self):
        self.make_subnet(self.make_network('other'), '10.1.0.0/24')
        self.assertIsNone(base.Probe(subnet_resource()).execute(
            network=self.network))

    def test_cidr_of_the_plan_is_normalized(self):
        existing = self.make_subnet(self.network, '2001:db8::/64')
        found = base.Probe(subnet_resource('2001:db8:0:0::/64')).execute(
            network=self.network)
        self.assertEqual(existing['id'], found['id'])

    def test_create_uses_the_plan_attributes(self):
        result = base.Ensure(subnet_resource(gateway_ip='10.1.0.254')).execute(
            before=None, network=self.network)
        raw = self.net().find_subnet(result['id'])
        self.assertEqual(
            ('infra', MARKER, self.network['id'], '10.1.0.0/24', 4,
             '10.1.0.254', None),
            (raw.name, raw.description, raw.network_id, raw.cidr,
             raw.ip_version, raw.gateway_ip, raw.segment_id))

    def test_create_on_the_segment_parent(self):
        segment = self.net().create_segment(self.network['id'], 'vlan',
                                            'physnet2', 210)
        resource = network.Subnet(
            'remote.subnet', PARIS, 'cell2', marker=MARKER,
            parents={'network': 'network', 'segment': 'remote.segment'},
            cidr='10.5.2.0/24')
        result = base.Ensure(resource).execute(
            before=None, network=self.network, segment={'id': segment.id})
        self.assertEqual(segment.id, result['segment_id'])

    def test_drift_on_another_segment(self):
        resource = network.Subnet(
            'remote.subnet', PARIS, 'cell2',
            parents={'network': 'network', 'segment': 'remote.segment'},
            cidr='10.5.2.0/24')
        self.assertEqual(
            ["is on segment seg-other, not on the cell's segment seg-cell"],
            resource.drift({'segment_id': 'seg-other'},
                           {'network': self.network,
                            'segment': {'id': 'seg-cell'}}))

    def test_no_drift_on_the_cell_segment(self):
        resource = network.Subnet(
            'remote.subnet', PARIS, 'cell2',
            parents={'network': 'network', 'segment': 'remote.segment'},
            cidr='10.5.2.0/24')
        self.assertEqual([], resource.drift(
            {'segment_id': 'seg-cell'},
            {'network': self.network, 'segment': {'id': 'seg-cell'}}))


class ExistingSubnetTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.subnet = self.make_subnet(self.make_network(), name='shared',
                                       owned=True)

    def resource(self, name='shared'):
        return network.ExistingSubnet('local.existing-subnet.' + name,
                                      PARIS, name)

    def test_found_by_name(self):
        found = base.Probe(self.resource()).execute()
        self.assertEqual({'id': self.subnet['id'], 'name': 'shared',
                          'owned': False, 'cidr': '10.1.0.0/24',
                          'network_id': self.subnet['network_id']}, found)

    def test_found_by_id(self):
        found = base.Probe(self.resource(self.subnet['id'])).execute()
        self.assertEqual(self.subnet['id'], found['id'])

    def test_never_owned_even_with_the_marker(self):
        self.assertFalse(base.Probe(self.resource()).execute()['owned'])

    def test_never_created(self):
        self.assertRaises(exceptions.ResourceError,
                          base.Ensure(self.resource('missing')).execute,
                          before=None)

    def test_never_deleted(self):
        self.assertRaises(exceptions.ResourceError,
                          self.resource().delete, self.net(),
                          self.subnet['id'], {})


class RouterTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.public = self.public_network()

    def gateway(self, router_id):
        [router] = [r for r in self.net().routers() if r.id == router_id]
        return (router.external_gateway_info or {}).get('network_id')

    def test_create_sets_gateway_on_external_network(self):
        result = base.Ensure(router_resource(
            external_network='public')).execute(before=None)
        self.assertEqual(self.public.id, self.gateway(result['id']))
        self.assertEqual(self.public.id, result['external_network_id'])

    def test_create_without_external_network_has_no_gateway(self):
        result = base.Ensure(router_resource()).execute(before=None)
        self.assertIsNone(self.gateway(result['id']))

    def test_unknown_external_network_is_an_error(self):
        error = self.assertRaises(
            exceptions.ResourceError,
            base.Ensure(router_resource(external_network='nope')).execute,
            before=None)
        self.assertIn("site 'paris' has no external network 'nope'",
                      str(error))
        self.assertEqual([], self.net().routers())

    def test_internal_network_is_no_external_network(self):
        self.make_network('internal')
        self.assertRaises(
            exceptions.ResourceError,
            base.Ensure(router_resource(
                external_network='internal')).execute, before=None)

    def test_adopting_a_router_without_gateway_sets_it(self):
        existing = self.make_router(gateway=False, owned=False)
        task = base.Ensure(router_resource(external_network='public'))
        result = task.execute(before=existing)
        self.assertEqual(self.public.id, self.gateway(existing['id']))
        self.assertEqual({'external_gateway_info': None},
                         result['previous'])

    def test_adopted_router_reports_the_gateway_it_got(self):
        existing = self.make_router(gateway=False, owned=False)
        result = base.Ensure(router_resource(
            external_network='public')).execute(before=existing)
        self.assertEqual(self.public.id, result['external_network_id'])

    def test_revert_of_adopted_router_removes_the_gateway_it_set(self):
        existing = self.make_router(gateway=False, owned=False)
        task = base.Ensure(router_resource(external_network='public'))
        result = task.execute(before=existing)
        task.revert(result, before=existing)
        self.assertIsNone(self.gateway(existing['id']))
        self.assertEqual([existing['id']],
                         [r.id for r in self.net().routers()])

    def test_adopting_a_router_with_gateway_changes_nothing(self):
        existing = self.make_router(owned=False)
        result = base.Ensure(router_resource(
            external_network='public')).execute(before=existing)
        self.assertNotIn('previous', result)
        self.assertEqual(0, self.site('paris').calls['update_router'])

    def test_drift_without_gateway(self):
        resource = router_resource(external_network='public')
        self.assertEqual(["has no gateway on external network 'public'"],
                         resource.drift({'external_network_id': None}, {}))

    def test_no_drift_with_gateway(self):
        resource = router_resource(external_network='public')
        self.assertEqual([], resource.drift(
            {'external_network_id': self.public.id}, {}))


class RouterInterfaceTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.network = self.make_network()
        self.router = self.make_router()
        self.subnet = self.make_subnet(self.network)

    def test_ownership_follows_router_and_subnet(self):
        self.net().add_interface_to_router(self.router['id'],
                                           subnet_id=self.subnet['id'])
        for router_owned, subnet_owned, owned in ((True, True, True),
                                                  (True, False, True),
                                                  (False, True, True),
                                                  (False, False, False)):
            found = base.Probe(interface_resource()).execute(
                router=dict(self.router, owned=router_owned),
                subnet=dict(self.subnet, owned=subnet_owned))
            self.assertIs(owned, found['owned'],
                          (router_owned, subnet_owned))

    def test_interface_on_another_subnet_is_not_it(self):
        other = self.make_subnet(self.network, '10.1.1.0/24', 'other')
        self.net().add_interface_to_router(self.router['id'],
                                           subnet_id=other['id'])
        self.assertIsNone(base.Probe(interface_resource()).execute(
            router=self.router, subnet=self.subnet))

    def test_create_plugs_the_router_into_the_subnet(self):
        result = base.Ensure(interface_resource()).execute(
            before=None, router=self.router, subnet=self.subnet)
        [port] = self.net().ports(device_id=self.router['id'])
        self.assertEqual(port.id, result['id'])
        self.assertEqual(self.subnet['id'], port.fixed_ips[0]['subnet_id'])

    def test_created_interface_carries_the_mark(self):
        resource = network.RouterInterface(
            'local.interface.subnet.infra', PARIS, 'infra', marker=MARKER,
            router_name='edge',
            parents={'router': 'local.router', 'subnet': 'local.subnet.infra'})
        router = dict(self.router, owned=False)
        subnet = dict(self.subnet, owned=False)
        result = base.Ensure(resource).execute(before=None, router=router,
                                               subnet=subnet)
        [port] = self.net().ports(device_id=self.router['id'])
        self.assertEqual(MARKER, port.description)
        # Owned although neither its router nor its subnet is: teardown
        # removes it.
        self.assertTrue(result['owned'])
        deleted = base.Delete(resource).execute(found=result, router=router,
                                                subnet=subnet)
        self.assertTrue(deleted['deleted'])
        self.assertEqual([], self.net().ports(device_id=self.router['id']))

    def test_a_re_run_marks_an_interface_an_earlier_attempt_made(self):
        resource = network.RouterInterface(
            'local.interface.subnet.infra', PARIS, 'infra', marker=MARKER,
            router_name='edge',
            parents={'router': 'local.router', 'subnet': 'local.subnet.infra'})
        # The crash came between the interface and its mark.
        self.net().add_interface_to_router(self.router['id'],
                                           subnet_id=self.subnet['id'])
        base.Ensure(resource).execute(before=None, router=self.router,
                                      subnet=self.subnet)
        [port] = self.net().ports(device_id=self.router['id'])
        self.assertEqual(MARKER, port.description)

    def test_label_names_router_subnet_and_site(self):
        self.assertEqual(
            "interface of router 'edge' on subnet 'infra' (site 'paris')",
            interface_resource().label)


class SegmentTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.network = self.make_network('gf-test-cells', **CELL_NETWORK)

    def test_found_by_physical_network_and_segmentation_id(self):
        wanted = self.net().create_segment(self.network['id'], 'vlan',
                                           'physnet2', 210)
        self.net().create_segment(self.network['id'], 'vlan', 'physnet2',
                                  211)
        self.net().create_segment(self.network['id'], 'vlan', 'physnet3',
                                  210)
        found = base.Probe(segment_resource()).execute(network=self.network)
        self.assertEqual(wanted.id, found['id'])

    def test_other_segments_are_not_it(self):
        self.net().create_segment(self.network['id'], 'vlan', 'physnet2',
                                  211)
        self.assertIsNone(base.Probe(segment_resource()).execute(
            network=self.network))

    def test_create_uses_the_plan_attributes(self):
        result = base.Ensure(segment_resource()).execute(
            before=None, network=self.network)
        self.assertEqual(
            {'id': result['id'], 'name': 'gf-test-cells-cell2',
             'owned': True, 'created': True, 'physical_network': 'physnet2',
             'segmentation_id': 210, 'network_type': 'vlan'}, result)


class FirstSegmentTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.network = self.make_network('gf-test-cells', **CELL_NETWORK)
        self.resource = segment_resource(network.FirstSegment, 'physnet1',
                                         110)

    def test_found_on_its_network(self):
        [first] = self.net().segments(network_id=self.network['id'])
        found = base.Require(self.resource).execute(network=self.network)
        self.assertEqual({'id': first.id, 'name': 'gf-test-cells-cell2',
                          'owned': False, 'physical_network': 'physnet1',
                          'segmentation_id': 110, 'network_type': 'vlan'},
                         found)

    def test_never_owned_even_with_the_marker(self):
        [first] = self.net().segments(network_id=self.network['id'])
        self.net().update_segment(first.id, description=MARKER)
        found = base.Probe(self.resource).execute(network=self.network)
        self.assertIs(False, found['owned'])

    def test_cannot_be_created(self):
        resource = segment_resource(network.FirstSegment, 'physnet1', 111)
        error = self.assertRaises(exceptions.ResourceError,
                                  base.Ensure(resource).execute,
                                  before=None, network=self.network)
        self.assertIn('comes with its network', str(error))

    def test_cannot_be_deleted(self):
        [first] = self.net().segments(network_id=self.network['id'])
        error = self.assertRaises(exceptions.ResourceError,
                                  self.resource.delete, self.net(),
                                  first.id, {'network': self.network})
        self.assertIn('goes with its network', str(error))
        self.assertEqual(0, self.site('paris').calls['delete_segment'])

    def test_missing_first_segment_has_its_own_hint(self):
        resource = segment_resource(network.FirstSegment, 'physnet1', 111)
        error = self.assertRaises(exceptions.ResourceError,
                                  base.Require(resource).execute,
                                  network=self.network)
        self.assertIn("the network exists without the cell's segment",
                      str(error))
