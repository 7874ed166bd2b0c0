"""Tests of the IPsec site-to-site VPN resources and the psk check."""

import json

from geoflows import secrets
from geoflows.tasks import base
from geoflows.tasks import ipsec
from tests.unit import base as testbase
from tests.unit.tasks import test_base as contract

PARIS = contract.PARIS
MARKER = contract.MARKER
PSK_SOURCE = {'derive': True}
PURPOSE = 'psk/test/sec'


def connection_resource():
    return ipsec.SiteConnection(
        'local.connection', PARIS, 'gf-test-sec', marker=MARKER,
        psk=PSK_SOURCE, purpose=PURPOSE, mtu=1500,
        initiator='bi-directional',
        parents={'vpnservice': 'local.vpnservice',
                 'ikepolicy': 'local.ikepolicy',
                 'ipsecpolicy': 'local.ipsecpolicy',
                 'local_group': 'local.local-group',
                 'peer_group': 'local.peer-group',
                 'peer': 'remote.vpnservice'})


def vpn_service_resource():
    return ipsec.VpnService('local.vpnservice', PARIS, 'gf-test-sec',
                            parents={'router': 'local.router'},
                            marker=MARKER)


def group_resource(group_type, parents):
    return ipsec.EndpointGroup('local.group', PARIS, 'gf-test-sec-group',
                               marker=MARKER, group_type=group_type,
                               parents=parents)


def sec_spec():
    plan = testbase.make_plan()
    return plan.interconnect_spec(plan.interconnect('sec'))


class IkePolicyContractTest(contract.ResourceContract,
                            testbase.CloudTestCase):

    table = 'ikepolicy'
    delete_method = 'delete_vpn_ike_policy'

    def make_resource(self):
        return ipsec.IkePolicy('local.ikepolicy', PARIS, 'gf-test-sec-ike',
                               marker=MARKER, **contract.DEFAULT_IKE)

    def make_existing(self):
        return self.net().create_vpn_ike_policy(name='gf-test-sec-ike').id


class IpsecPolicyContractTest(contract.ResourceContract,
                              testbase.CloudTestCase):

    table = 'ipsecpolicy'
    delete_method = 'delete_vpn_ipsec_policy'

    def make_resource(self):
        return ipsec.IpsecPolicy('local.ipsecpolicy', PARIS,
                                 'gf-test-sec-ipsec', marker=MARKER,
                                 **contract.DEFAULT_IPSEC)

    def make_existing(self):
        return self.net().create_vpn_ipsec_policy(
            name='gf-test-sec-ipsec').id


class VpnServiceContractTest(contract.ResourceContract,
                             contract.ChildContract,
                             testbase.CloudTestCase):

    table = 'vpnservice'
    delete_method = 'delete_vpn_service'
    fields = {'status', 'external_ip', 'router_id'}

    def make_parents(self):
        return {'router': self.make_router()}

    def make_resource(self):
        return vpn_service_resource()

    def make_existing(self):
        return self.net().create_vpn_service(self.parents['router']['id'],
                                             name='gf-test-sec').id


class EndpointGroupContractTest(contract.ResourceContract,
                                contract.ChildContract,
                                testbase.CloudTestCase):

    table = 'endpoint_group'
    delete_method = 'delete_vpn_endpoint_group'
    fields = {'endpoints'}

    def make_parents(self):
        return {'subnet_0': self.make_subnet(self.make_network())}

    def make_resource(self):
        return group_resource('subnet', {'subnet_0': 'local.subnet.infra'})

    def make_existing(self):
        return self.net().create_vpn_endpoint_group(
            name='gf-test-sec-group', type='subnet',
            endpoints=[self.parents['subnet_0']['id']]).id


class SiteConnectionContractTest(contract.ResourceContract,
                                 contract.ChildContract,
                                 testbase.CloudTestCase):

    table = 'ipsec_site_connection'
    delete_method = 'delete_vpn_ipsec_site_connection'
    fields = {'status', 'peer_address', 'vpnservice_id'}

    def make_parents(self):
        return self.make_connection_parents()

    def make_resource(self):
        return connection_resource()

    def make_existing(self):
        return self.make_connection(self.parents, 'their-own-key')


class PolicyTest(contract.SiteFixtures, testbase.CloudTestCase):

    def test_ike_policy_uses_the_plan_parameters(self):
        resource = ipsec.IkePolicy('local.ikepolicy', PARIS,
                                   'gf-test-sec-ike', marker=MARKER,
                                   **contract.DEFAULT_IKE)
        result = base.Ensure(resource).execute(before=None)
        [raw] = self.net().vpn_ike_policies(name='gf-test-sec-ike')
        self.assertEqual(dict(
            id=result['id'], name='gf-test-sec-ike', description=MARKER,
            auth_algorithm='sha256', encryption_algorithm='aes-256',
            pfs='group14', ike_version='v2',
            lifetime={'units': 'seconds', 'value': 3600}), dict(raw))

    def test_ipsec_policy_uses_the_plan_parameters(self):
        resource = ipsec.IpsecPolicy('local.ipsecpolicy', PARIS,
                                     'gf-test-sec-ipsec', marker=MARKER,
                                     **contract.DEFAULT_IPSEC)
        result = base.Ensure(resource).execute(before=None)
        [raw] = self.net().vpn_ipsec_policies(name='gf-test-sec-ipsec')
        self.assertEqual(dict(
            id=result['id'], name='gf-test-sec-ipsec', description=MARKER,
            auth_algorithm='sha256', encryption_algorithm='aes-256',
            pfs='group14', transform_protocol='esp',
            encapsulation_mode='tunnel',
            lifetime={'units': 'seconds', 'value': 3600}), dict(raw))


class VpnServiceTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.router = self.make_router()

    def test_description_has_status_address_and_router(self):
        result = base.Ensure(vpn_service_resource()).execute(
            before=None, router=self.router)
        [router] = self.net().routers()
        address = router.external_gateway_info['external_fixed_ips'][0][
            'ip_address']
        self.assertEqual(
            {'id': result['id'], 'name': 'gf-test-sec', 'owned': True,
             'created': True, 'status': 'PENDING_CREATE',
             'external_ip': address, 'router_id': self.router['id']},
            result)

    def test_drift_when_not_active(self):
        self.assertEqual(['is DOWN, not ACTIVE'],
                         vpn_service_resource().drift(
                             {'status': 'DOWN',
                              'router_id': self.router['id']},
                             {'router': self.router}))

    def test_drift_when_on_another_router(self):
        self.assertEqual(["is not on the interconnect's router"],
                         vpn_service_resource().drift(
                             {'status': 'ACTIVE', 'router_id': 'router-x'},
                             {'router': self.router}))

    def test_no_drift_when_active_on_its_router(self):
        self.assertEqual([], vpn_service_resource().drift(
            {'status': 'ACTIVE', 'router_id': self.router['id']},
            {'router': self.router}))


class EndpointGroupTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        network = self.make_network()
        self.subnets = {'subnet_0': self.make_subnet(network, '10.1.1.0/24'),
                        'subnet_1': self.make_subnet(network, '10.1.0.0/24')}
        self.peers = {'peer_0': {'id': 's-1', 'cidr': '10.4.1.0/24'},
                      'peer_1': {'id': 's-2', 'cidr': '10.4.0.0/24'}}
        self.subnet_group = group_resource(
            'subnet', {k: 'local.' + k for k in self.subnets})
        self.cidr_group = group_resource(
            'cidr', {k: 'remote.' + k for k in self.peers})

    def test_subnet_group_holds_subnet_ids(self):
        result = base.Ensure(self.subnet_group).execute(before=None,
                                                        **self.subnets)
        self.assertEqual(sorted(s['id'] for s in self.subnets.values()),
                         result['endpoints'])
        [raw] = self.net().vpn_endpoint_groups()
        self.assertEqual('subnet', raw.type)

    def test_cidr_group_holds_peer_cidrs(self):
        result = base.Ensure(self.cidr_group).execute(before=None,
                                                      **self.peers)
        self.assertEqual(['10.4.0.0/24', '10.4.1.0/24'], result['endpoints'])
        [raw] = self.net().vpn_endpoint_groups()
        self.assertEqual('cidr', raw.type)

    def test_drift_on_endpoints(self):
        self.assertEqual(
            ['holds 10.9.0.0/24, expected 10.4.0.0/24, 10.4.1.0/24'],
            self.cidr_group.drift({'endpoints': ['10.9.0.0/24']},
                                  self.peers))

    def test_drift_on_empty_group(self):
        self.assertEqual(
            ['holds nothing, expected 10.4.0.0/24, 10.4.1.0/24'],
            self.cidr_group.drift({'endpoints': []}, self.peers))

    def test_no_drift_with_the_expected_endpoints(self):
        self.assertEqual([], self.cidr_group.drift(
            {'endpoints': ['10.4.0.0/24', '10.4.1.0/24']}, self.peers))

    def test_no_drift_when_a_parent_is_missing(self):
        self.assertEqual([], self.cidr_group.drift(
            {'endpoints': ['10.9.0.0/24']}, dict(self.peers, peer_1=None)))


class SiteConnectionTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.parents = self.make_connection_parents()

    def expected_psk(self):
        """The key of the plan's source (derived from this test's key)."""
        return self.resolver.resolve(PSK_SOURCE, PURPOSE)

    def create(self):
        return base.Ensure(connection_resource()).execute(before=None,
                                                          **self.parents)

    def raw(self):
        [raw] = self.site('paris')._raw_network.resources(
            'ipsec_site_connection')
        return raw

    def test_create_gives_the_resolved_psk_to_the_site(self):
        self.create()
        self.assertEqual(self.expected_psk(), self.raw()['psk'])

    def test_create_points_at_the_peer_address(self):
        result = self.create()
        raw = self.raw()
        self.assertEqual(
            ('198.51.100.7', '198.51.100.7', 1500, 'bi-directional',
             self.parents['local_group']['id'],
             self.parents['peer_group']['id']),
            (raw.peer_address, raw.peer_id, raw.mtu, raw.initiator,
             raw.local_ep_group_id, raw.peer_ep_group_id))
        self.assertEqual('198.51.100.7', result['peer_address'])

    def test_result_holds_no_psk(self):
        result = self.create()
        self.assertEqual({'id', 'name', 'owned', 'created', 'status',
                          'peer_address', 'vpnservice_id'}, set(result))
        self.assertNotIn(self.expected_psk(), json.dumps(result))

    def test_probe_holds_no_psk(self):
        self.create()
        found = base.Probe(connection_resource()).execute(**self.parents)
        self.assertNotIn('psk', found)
        self.assertNotIn(self.expected_psk(), json.dumps(found))

    def test_psk_is_masked_once_resolved(self):
        # Each test has its own master key: only create() has seen the key.
        self.create()
        self.assertEqual('key: ***', secrets.mask('key: %s' % self.raw().psk))

    def test_drift_when_pointing_at_another_peer(self):
        self.assertEqual(
            ["points at 203.0.113.9, but the other side's VPN address is "
             "198.51.100.7"],
            connection_resource().drift(
                {'status': 'ACTIVE', 'peer_address': '203.0.113.9'},
                self.parents))

    def test_drift_when_not_active(self):
        self.assertEqual(['is PENDING_CREATE, not ACTIVE'],
                         connection_resource().drift(
                             {'status': 'PENDING_CREATE',
                              'peer_address': '198.51.100.7'},
                             self.parents))

    def test_no_drift_when_active_towards_the_peer(self):
        self.assertEqual([], connection_resource().drift(
            {'status': 'ACTIVE', 'peer_address': '198.51.100.7'},
            self.parents))


class ComparePskTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.spec = sec_spec()
        self.task = ipsec.ComparePsk('psk', self.spec, 'gf-test-sec')
        self.psk = self.resolver.resolve(self.spec['overlay']['psk'],
                                         ipsec.psk_purpose(self.spec))

    def connect(self, region, psk):
        self.make_connection(self.make_connection_parents(region), psk,
                             region=region)

    def test_both_absent(self):
        self.assertEqual({'local': 'absent', 'remote': 'absent'},
                         self.task.execute())

    def test_both_match(self):
        self.connect('paris', self.psk)
        self.connect('lyon', self.psk)
        self.assertEqual({'local': 'matches', 'remote': 'matches'},
                         self.task.execute())

    def test_one_side_differs(self):
        self.connect('paris', self.psk)
        self.connect('lyon', 'an-older-key')
        self.assertEqual({'local': 'matches', 'remote': 'differs'},
                         self.task.execute())

    def test_one_side_absent(self):
        self.connect('lyon', self.psk)
        self.assertEqual({'local': 'absent', 'remote': 'matches'},
                         self.task.execute())

    def test_result_holds_no_psk(self):
        self.connect('paris', self.psk)
        self.connect('lyon', 'an-older-key')
        text = json.dumps(self.task.execute())
        self.assertNotIn(self.psk, text)
        self.assertNotIn('an-older-key', text)

    def test_key_read_from_the_site_is_masked(self):
        key = 'key-set-by-hand-' + self.getUniqueString()
        self.connect('lyon', key)
        self.task.execute()
        self.assertEqual('***', secrets.mask(key))

    def test_uses_the_purpose_of_the_interconnect(self):
        self.assertEqual(PURPOSE, ipsec.psk_purpose(self.spec))
