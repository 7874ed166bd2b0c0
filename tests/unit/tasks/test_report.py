"""Tests of the report tasks (setup, teardown and check reports)."""

import copy

from taskflow import engines

from geoflows.flows import interconnect
from geoflows.tasks import report
from tests.unit import base as testbase

SEGMENT_HINT = ("the network exists without the cell's segment; fix or "
                "delete the network, then run the setup again")


def spec_of(name):
    plan = testbase.make_plan()
    return plan.interconnect_spec(plan.interconnect(name))


class SetupReportTest(testbase.TestCase):

    def setUp(self):
        super().setUp()
        self.spec = spec_of('vpn')
        self.layout = interconnect.Layout(self.spec)
        self.task = report.SetupReport(self.spec, self.layout.resources)

    def test_requires_the_result_of_every_resource(self):
        self.assertEqual({r.key for r in self.layout.resources},
                         set(self.task.requires))
        self.assertEqual({'report'}, set(self.task.provides))

    def test_reports_created_and_existing_resources(self):
        results = {r.key: {'id': r.key + '-id',
                           'created': r.key.startswith('local.')}
                   for r in self.layout.resources}
        rows = [('paris', 'network', 'infra-p', 'local.network.infra-p-id',
                 'created'),
                ('paris', 'subnet', 'infra-p', 'local.subnet.infra-p-id',
                 'created'),
                ('paris', 'BGPVPN', 'gf-test-vpn', 'local.bgpvpn-id',
                 'created'),
                ('paris', 'network association', 'infra-p',
                 'local.bgpvpn.network.infra-p-id', 'created'),
                ('lyon', 'network', 'infra-l', 'remote.network.infra-l-id',
                 'existing'),
                ('lyon', 'subnet', 'infra-l', 'remote.subnet.infra-l-id',
                 'existing'),
                ('lyon', 'BGPVPN', 'gf-test-vpn', 'remote.bgpvpn-id',
                 'existing'),
                ('lyon', 'network association', 'infra-l',
                 'remote.bgpvpn.network.infra-l-id', 'existing')]
        self.assertEqual(
            {'interconnect': 'vpn', 'overlay': 'bgpvpn', 'created': 4,
             'resources': [dict(zip(('site', 'kind', 'name', 'id', 'action'),
                                    row)) for row in rows]},
            self.task.execute(**results))

    def test_nothing_created(self):
        results = {r.key: {'id': 'x', 'created': False}
                   for r in self.layout.resources}
        self.assertEqual(0, self.task.execute(**results)['created'])


class TeardownReportTest(testbase.TestCase):

    def setUp(self):
        super().setUp()
        self.spec = spec_of('cells')
        self.layout = interconnect.Layout(self.spec)
        self.task = report.TeardownReport(self.spec, self.layout.resources)

    def test_requires_the_outcome_of_every_deletion(self):
        self.assertEqual({r.key + '.deleted' for r in self.layout.resources},
                         set(self.task.requires))

    def test_reports_deleted_and_kept_resources_in_deletion_order(self):
        outcomes = {
            'network.deleted': {'deleted': True, 'id': 'net-1'},
            'local.subnet.deleted': {'deleted': False,
                                     'reason': 'not created by geoflows'},
            'remote.segment.deleted': {'deleted': False, 'reason': 'absent'},
            'remote.subnet.deleted': {'deleted': True, 'id': 'sub-2'},
        }
        self.assertEqual(
            {'interconnect': 'cells', 'overlay': 'segments', 'deleted': 2,
             'resources': [
                 {'site': 'cell2', 'kind': 'subnet',
                  'name': 'gf-test-cells-cell2', 'id': 'sub-2',
                  'action': 'deleted', 'reason': None},
                 {'site': 'cell1', 'kind': 'subnet',
                  'name': 'gf-test-cells-cell1', 'id': None,
                  'action': 'kept', 'reason': 'not created by geoflows'},
                 {'site': 'cell1', 'kind': 'network',
                  'name': 'gf-test-cells', 'id': 'net-1',
                  'action': 'deleted', 'reason': None}]},
            self.task.execute(**outcomes))

    def test_absent_resources_are_left_out(self):
        outcomes = {r.key + '.deleted': {'deleted': False,
                                         'reason': 'absent'}
                    for r in self.layout.resources}
        self.assertEqual(
            {'interconnect': 'cells', 'overlay': 'segments', 'deleted': 0,
             'resources': []}, self.task.execute(**outcomes))


class CheckReportTest(testbase.CloudTestCase):
    """CheckReport on the results of a check after a successful setup.

    Each test alters the results of one resource and reads the findings.
    """

    def check(self, name, changes=None):
        """The report of interconnect ``name`` with results changed.

        ``changes`` maps result keys to a dict of fields to replace, or to
        None for a missing resource.
        """
        spec = spec_of(name)
        engines.run(interconnect.setup(spec, testbase.OPTIONS),
                    store={'job_id': 'j1'})
        results = copy.deepcopy(engines.run(interconnect.check(
            spec, testbase.OPTIONS)))
        self.results = results
        for key, change in (changes or {}).items():
            if change is None or results[key] is None:
                results[key] = change
            else:
                results[key].update(change)
        layout = interconnect.Layout(spec)
        extra = {'bgpvpn': ['route_targets'], 'ipsec': ['psk']}.get(
            spec['overlay']['type'], [])
        task = report.CheckReport(spec, layout.resources, layout.required,
                                  extra=extra)
        return task.execute(**{key: results[key] for key in task.requires})

    def assertFindings(self, expected, result):
        self.assertEqual('drift', result['status'])
        self.assertEqual([dict(zip(('site', 'resource', 'problem'), f))
                          for f in expected], result['findings'])

    def test_all_good_is_ok(self):
        for name, overlay, checked in (('vpn', 'bgpvpn', 8),
                                       ('sec', 'ipsec', 20),
                                       ('cells', 'segments', 5)):
            self.assertEqual(
                {'interconnect': name, 'overlay': overlay, 'status': 'ok',
                 'checked': checked, 'findings': []}, self.check(name))

    def test_missing_resource(self):
        result = self.check('vpn', {'remote.bgpvpn': None})
        self.assertFindings([
            ('lyon', "BGPVPN 'gf-test-vpn' on site 'lyon'", 'is missing'),
        ], result)

    def test_children_of_a_missing_parent_are_not_reported(self):
        result = self.check('vpn', {'local.network.infra-p': None,
                                    'local.subnet.infra-p': None,
                                    'local.bgpvpn.network.infra-p': None})
        self.assertFindings([
            ('paris', "network 'infra-p' on site 'paris'", 'is missing'),
        ], result)

    def test_missing_required_resource_gives_its_hint(self):
        result = self.check('cells', {'local.segment': None,
                                      'local.subnet': None})
        self.assertFindings([
            ('cell1', "segment 'gf-test-cells-cell1' on site 'cell1'",
             'is missing; ' + SEGMENT_HINT),
        ], result)

    def test_the_segment_of_a_missing_network_is_not_reported(self):
        result = self.check('cells', {'network': None, 'local.segment': None,
                                      'remote.segment': None,
                                      'local.subnet': None,
                                      'remote.subnet': None})
        self.assertFindings([
            ('cell1', "network 'gf-test-cells' on site 'cell1'",
             'is missing'),
        ], result)

    def test_bgpvpn_of_another_type(self):
        result = self.check('vpn', {'local.bgpvpn': {'type': 'l2'}})
        self.assertFindings([
            ('paris', "BGPVPN 'gf-test-vpn' on site 'paris'",
             'is of type l2, the plan says l3'),
        ], result)

    def test_bgpvpns_without_the_recorded_route_targets(self):
        result = self.check('vpn', {'route_targets': {
            'route_targets': ['64512:1099']}})
        self.assertFindings([
            ('paris', "BGPVPN 'gf-test-vpn' on site 'paris'",
             'has route targets 64512:1000, expected 64512:1099'),
            ('lyon', "BGPVPN 'gf-test-vpn' on site 'lyon'",
             'has route targets 64512:1000, expected 64512:1099'),
        ], result)

    def test_asymmetric_route_targets(self):
        result = self.check('vpn', {
            'route_targets': {'route_targets': None},
            'remote.bgpvpn': {'route_targets': ['64512:2000']}})
        self.assertFindings([
            ('lyon', "BGPVPN 'gf-test-vpn'",
             'asymmetric route targets: it does not import 64512:1000, '
             'exported by the local side'),
            ('paris', "BGPVPN 'gf-test-vpn'",
             'asymmetric route targets: it does not import 64512:2000, '
             'exported by the remote side'),
        ], result)

    def test_import_and_export_targets_can_make_it_symmetric(self):
        result = self.check('vpn', {
            'route_targets': {'route_targets': None},
            'remote.bgpvpn': {'route_targets': [],
                              'import_targets': ['64512:1000'],
                              'export_targets': ['64512:1000']}})
        self.assertEqual('ok', result['status'])

    def test_vpn_service_not_active(self):
        result = self.check('sec', {'local.vpnservice': {'status': 'DOWN'}})
        self.assertFindings([
            ('paris', "VPN service 'gf-test-sec' on site 'paris'",
             'is DOWN, not ACTIVE'),
        ], result)

    def test_connection_pointing_at_a_wrong_peer(self):
        result = self.check('sec', {'remote.connection': {
            'peer_address': '203.0.113.9'}})
        local_address = self.results['local.vpnservice']['external_ip']
        self.assertFindings([
            ('lyon', "IPsec site connection 'gf-test-sec' on site 'lyon'",
             "points at 203.0.113.9, but the other side's VPN address is "
             "%s" % local_address),
        ], result)

    def test_endpoint_group_with_other_endpoints(self):
        result = self.check('sec', {'local.peer-group': {
            'endpoints': ['10.9.0.0/24']}})
        self.assertFindings([
            ('paris', "endpoint group 'gf-test-sec-peer' on site 'paris'",
             'holds 10.9.0.0/24, expected 10.4.0.0/24'),
        ], result)

    def test_router_without_gateway(self):
        result = self.check('sec', {'local.router': {
            'external_network_id': None}})
        self.assertFindings([
            ('paris', "router 'edge-p' on site 'paris'",
             "has no gateway on external network 'public'"),
        ], result)

    def test_psk_differs(self):
        result = self.check('sec', {'psk': {'remote': 'differs'}})
        self.assertFindings([
            ('lyon', 'IPsec site connection',
             "its pre-shared key differs from the plan's source"),
        ], result)

    def test_absent_psk_is_left_to_the_missing_connection(self):
        result = self.check('sec', {'psk': {'local': 'absent'}})
        self.assertEqual('ok', result['status'])

    def test_subnet_on_the_wrong_segment(self):
        result = self.check('cells', {'remote.subnet': {
            'segment_id': 'segment-x'}})
        segment = self.results['remote.segment']['id']
        self.assertFindings([
            ('cell2', "subnet 'gf-test-cells-cell2' on site 'cell2'",
             "is on segment segment-x, not on the cell's segment %s"
             % segment),
        ], result)

    def test_network_without_both_zones(self):
        result = self.check('cells', {'network': {
            'availability_zone_hints': ['az1']}})
        self.assertFindings([
            ('cell1', "network 'gf-test-cells' on site 'cell1'",
             'availability zone hints lack az2'),
        ], result)
