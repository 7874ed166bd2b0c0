"""The plan as objects: defaults, digest and interconnect specs."""

import copy
import json
import re
import textwrap

from geoflows import plan
from geoflows.plan import model
from tests.unit import base


def overlay(data, index):
    """The overlay, defaults filled, of interconnect ``index`` of ``data``."""
    return base.make_plan(data).interconnects[index].overlay


def with_overlay(index, **values):
    """PLAN with ``values`` added to the overlay of interconnect ``index``."""
    data = base.plan_data()
    data['interconnects'][index]['overlay'].update(values)
    return data


class BgpvpnDefaultsTest(base.TestCase):

    def test_defaults(self):
        self.assertEqual({'type': 'bgpvpn', 'vpn_type': 'l3',
                          'associate': 'networks', 'route_targets': None},
                         overlay(base.plan_data(), 0))

    def test_given_values_are_kept(self):
        data = with_overlay(0, vpn_type='l2', route_targets=['64512:7'])
        self.assertEqual({'type': 'bgpvpn', 'vpn_type': 'l2',
                          'associate': 'networks',
                          'route_targets': ['64512:7']}, overlay(data, 0))


class IpsecDefaultsTest(base.TestCase):

    def test_pre_shared_key_is_derived_by_default(self):
        data = base.plan_data()
        del data['interconnects'][1]['overlay']['psk']
        self.assertEqual({'derive': True}, overlay(data, 1)['psk'])

    def test_ike_defaults(self):
        self.assertEqual({'auth_algorithm': 'sha256',
                          'encryption_algorithm': 'aes-256',
                          'pfs': 'group14', 'lifetime': 3600,
                          'ike_version': 'v2'},
                         overlay(base.plan_data(), 1)['ike'])

    def test_ipsec_defaults(self):
        self.assertEqual({'auth_algorithm': 'sha256',
                          'encryption_algorithm': 'aes-256',
                          'pfs': 'group14', 'lifetime': 3600,
                          'transform_protocol': 'esp',
                          'encapsulation_mode': 'tunnel'},
                         overlay(base.plan_data(), 1)['ipsec'])

    def test_connection_defaults(self):
        filled = overlay(base.plan_data(), 1)
        self.assertEqual((1500, 'bi-directional'),
                         (filled['mtu'], filled['initiator']))

    def test_given_policy_values_complete_the_defaults(self):
        data = with_overlay(1, ike={'pfs': 'group19', 'lifetime': 7200})
        self.assertEqual({'auth_algorithm': 'sha256',
                          'encryption_algorithm': 'aes-256',
                          'pfs': 'group19', 'lifetime': 7200,
                          'ike_version': 'v2'}, overlay(data, 1)['ike'])

    def test_given_key_source_is_kept(self):
        data = with_overlay(1, psk={'env': 'VPN_PSK'})
        self.assertEqual({'env': 'VPN_PSK'}, overlay(data, 1)['psk'])


class SegmentsDefaultsTest(base.TestCase):

    def test_defaults(self):
        self.assertEqual({'type': 'segments', 'network_type': 'vlan',
                          'network': None}, overlay(base.plan_data(), 2))

    def test_given_network_is_kept(self):
        data = with_overlay(2, network='dr-infra')
        self.assertEqual('dr-infra', overlay(data, 2)['network'])


class PlanTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.plan = base.make_plan()

    def test_plan_fields(self):
        self.assertEqual(('test', 1, '<plan>'),
                         (self.plan.name, self.plan.version, self.plan.source))

    def test_sites(self):
        self.assertEqual(model.Site('paris', 'telco', 'paris'),
                         self.plan.sites['paris'])

    def test_cell(self):
        self.assertEqual(model.Cell('az1', 'physnet1'),
                         self.plan.sites['cell1'].cell)

    def test_domain_of_a_region(self):
        self.assertEqual(('telco', 'paris', None),
                         self.plan.sites['paris'].domain)

    def test_domain_of_a_cell(self):
        self.assertEqual(('telco', 'paris', 'az1'),
                         self.plan.sites['cell1'].domain)

    def test_endpoint(self):
        self.assertEqual(
            model.Endpoint(site='paris',
                           networks=({'name': 'oam-p',
                                      'cidr': '10.3.0.0/24'},),
                           router={'name': 'edge-p',
                                   'external_network': 'public'}),
            self.plan.interconnect('sec').local)

    def test_interconnect_by_name(self):
        self.assertEqual('cells', self.plan.interconnect('cells').name)

    def test_unknown_interconnect(self):
        self.assertIsNone(self.plan.interconnect('nowhere'))

    def test_l3_overlays_route_at_l3(self):
        self.assertEqual([True, True, True],
                         [ic.routes_at_l3 for ic in self.plan.interconnects])

    def test_l2_bgpvpn_does_not_route_at_l3(self):
        l2 = base.make_plan(with_overlay(0, vpn_type='l2'))
        self.assertFalse(l2.interconnect('vpn').routes_at_l3)

    def test_document_is_the_plan_as_written(self):
        data = base.plan_data()
        written = copy.deepcopy(data)
        self.assertEqual(written, base.make_plan(data).document)


DIGEST_TEXT = '''\
# The plan of the digest tests.
version: 1
name: test
sites:
  paris: {cloud: telco, region: paris}
  lyon: {cloud: telco, region: lyon}
interconnects:
  - name: vpn
    local:
      site: paris
      networks: [{name: infra-p, cidr: 10.1.0.0/24}]
    remote:
      site: lyon
      networks: [{name: infra-l, cidr: 10.2.0.0/24}]
    overlay: {type: bgpvpn}
'''


def digest(text):
    return plan.parse(textwrap.dedent(text)).digest


class DigestTest(base.TestCase):

    def test_digest_is_a_sha256(self):
        self.assertIsNotNone(re.match('^sha256:[0-9a-f]{64}$',
                                      digest(DIGEST_TEXT)))

    def test_comments_formatting_and_key_order_do_not_matter(self):
        reformatted = '''\
            interconnects:
            - overlay:
                type: bgpvpn
              remote: {networks: [{cidr: 10.2.0.0/24, name: infra-l}],
                       site: lyon}
              local:
                networks:
                - cidr: 10.1.0.0/24   # Paris
                  name: infra-p
                site: paris
              name: vpn
            sites: {lyon: {region: lyon, cloud: telco},
                    paris: {region: paris, cloud: telco}}
            name: "test"
            version: 1
            '''
        self.assertEqual(digest(DIGEST_TEXT), digest(reformatted))

    def test_a_change_of_content_changes_the_digest(self):
        changed = DIGEST_TEXT.replace('10.2.0.0/24', '10.3.0.0/24')
        self.assertNotEqual(digest(DIGEST_TEXT), digest(changed))

    def test_plan_read_from_data_has_the_digest_of_its_text(self):
        data = {'version': 1, 'name': 'test',
                'sites': {'paris': {'cloud': 'telco', 'region': 'paris'},
                          'lyon': {'cloud': 'telco', 'region': 'lyon'}},
                'interconnects': [{
                    'name': 'vpn',
                    'local': {'site': 'paris', 'networks': [
                        {'name': 'infra-p', 'cidr': '10.1.0.0/24'}]},
                    'remote': {'site': 'lyon', 'networks': [
                        {'name': 'infra-l', 'cidr': '10.2.0.0/24'}]},
                    'overlay': {'type': 'bgpvpn'}}]}
        self.assertEqual(digest(DIGEST_TEXT),
                         plan.from_document(data).digest)


class InterconnectSpecTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.plan = base.make_plan()

    def spec(self, name):
        return self.plan.interconnect_spec(self.plan.interconnect(name))

    def test_every_spec_is_json_serialisable(self):
        for ic in self.plan.interconnects:
            spec = self.plan.interconnect_spec(ic)
            self.assertEqual(spec, json.loads(json.dumps(spec)))

    def test_specs_of_the_example_plan_are_json_serialisable(self):
        example = plan.load(base.EXAMPLE_PLAN)
        for ic in example.interconnects:
            json.dumps(example.interconnect_spec(ic))

    def test_names(self):
        spec = self.spec('vpn')
        self.assertEqual(('test', 'vpn'), (spec['plan'], spec['name']))

    def test_endpoint_of_a_region(self):
        self.assertEqual(
            {'role': 'local',
             'site': {'name': 'paris', 'cloud': 'telco', 'region': 'paris'},
             'networks': [{'name': 'infra-p', 'cidr': '10.1.0.0/24'}],
             'subnets': [], 'router': None, 'segment': None},
            self.spec('vpn')['local'])

    def test_endpoint_of_a_cell(self):
        self.assertEqual(
            {'role': 'remote',
             'site': {'name': 'cell2', 'cloud': 'telco', 'region': 'paris',
                      'cell': {'availability_zone': 'az2',
                               'physical_network': 'physnet2'}},
             'networks': [], 'subnets': [], 'router': None,
             'segment': {'cidr': '10.5.2.0/24', 'segmentation_id': 210}},
            self.spec('cells')['remote'])

    def test_router_of_an_endpoint(self):
        self.assertEqual({'name': 'edge-l', 'external_network': 'public'},
                         self.spec('sec')['remote']['router'])

    def test_overlay_has_its_defaults(self):
        self.assertEqual({'type': 'bgpvpn', 'vpn_type': 'l3',
                          'associate': 'networks', 'route_targets': None},
                         self.spec('vpn')['overlay'])

    def test_ipsec_overlay_has_its_policies(self):
        spec_overlay = self.spec('sec')['overlay']
        self.assertEqual(('sha256', 'sha256'),
                         (spec_overlay['ike']['auth_algorithm'],
                          spec_overlay['ipsec']['auth_algorithm']))

    def test_spec_is_a_copy(self):
        spec = self.spec('vpn')
        spec['overlay']['vpn_type'] = 'l2'
        spec['local']['networks'][0]['cidr'] = '10.9.0.0/24'
        ic = self.plan.interconnect('vpn')
        self.assertEqual(('l3', '10.1.0.0/24'),
                         (ic.overlay['vpn_type'],
                          ic.local.networks[0]['cidr']))


class SpecIndependenceTest(base.TestCase):

    def test_changing_a_spec_changes_neither_the_plan_nor_its_digest(self):
        plan = base.make_plan()
        digest = plan.digest
        spec = plan.interconnect_spec(plan.interconnect('sec'))
        spec['overlay']['ike']['pfs'] = 'group2'
        spec['overlay']['psk']['env'] = 'CHANGED'
        again = plan.interconnect_spec(plan.interconnect('sec'))
        self.assertEqual('group14', again['overlay']['ike']['pfs'])
        self.assertEqual({'derive': True}, again['overlay']['psk'])
        self.assertEqual(digest, plan.digest)
