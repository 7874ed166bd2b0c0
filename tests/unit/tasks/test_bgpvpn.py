"""Tests of BGPVPNs, their associations and route targets."""

from geoflows import exceptions
from geoflows.tasks import base
from geoflows.tasks import bgpvpn
from tests.unit import base as testbase
from tests.unit.tasks import test_base as contract

PARIS = contract.PARIS
RT = '64512:1000'
ROUTE_TARGETS = {'route_targets': [RT], 'allocated': True}
OWNER = 'test/vpn'


def bgpvpn_resource(vpn_type='l3'):
    return bgpvpn.Bgpvpn('local.bgpvpn', PARIS, 'gf-test-vpn',
                         parents={'route_targets': 'route_targets'},
                         vpn_type=vpn_type)


def network_association():
    return bgpvpn.NetworkAssociation(
        'local.bgpvpn.network.infra', PARIS, 'infra',
        vpn_name='gf-test-vpn',
        parents={'bgpvpn': 'local.bgpvpn', 'network': 'local.network.infra'})


def router_association():
    return bgpvpn.RouterAssociation(
        'local.bgpvpn.router', PARIS, 'edge', vpn_name='gf-test-vpn',
        parents={'bgpvpn': 'local.bgpvpn', 'router': 'local.router'})


def vpn_spec(**overlay):
    """The spec of the plan's bgpvpn interconnect, overlay changed."""
    plan = testbase.make_plan()
    spec = plan.interconnect_spec(plan.interconnect('vpn'))
    spec['overlay'].update(overlay)
    return spec


class BgpvpnContractTest(contract.ResourceContract, contract.ChildContract,
                         testbase.CloudTestCase):

    table = 'bgpvpn'
    delete_method = 'delete_bgpvpn'
    fields = {'type', 'route_targets', 'import_targets', 'export_targets'}
    existing_owned = True  # the gf-<plan>-<interconnect> names are ours

    def make_parents(self):
        return {'route_targets': ROUTE_TARGETS}

    def make_resource(self):
        return bgpvpn_resource()

    def make_existing(self):
        return self.make_bgpvpn(route_targets=[RT])['id']


class NetworkAssociationContractTest(contract.ResourceContract,
                                     contract.ChildContract,
                                     testbase.CloudTestCase):

    table = 'bgpvpn_network_association'
    delete_method = 'delete_bgpvpn_network_association'
    fields = {'network_id'}
    existing_owned = True  # its BGPVPN is geoflows'

    def delete_args(self, resource_id):
        return (self.parents['bgpvpn']['id'], resource_id)

    def make_parents(self):
        return {'bgpvpn': self.make_bgpvpn(route_targets=[RT]),
                'network': self.make_network()}

    def make_resource(self):
        return network_association()

    def make_existing(self):
        return self.net().create_bgpvpn_network_association(
            self.parents['bgpvpn']['id'],
            network_id=self.parents['network']['id']).id


class RouterAssociationContractTest(contract.ResourceContract,
                                    contract.ChildContract,
                                    testbase.CloudTestCase):

    table = 'bgpvpn_router_association'
    delete_method = 'delete_bgpvpn_router_association'
    fields = {'router_id'}
    existing_owned = True  # its BGPVPN is geoflows'

    def delete_args(self, resource_id):
        return (self.parents['bgpvpn']['id'], resource_id)

    def make_parents(self):
        return {'bgpvpn': self.make_bgpvpn(route_targets=[RT]),
                'router': self.make_router(gateway=False)}

    def make_resource(self):
        return router_association()

    def make_existing(self):
        return self.net().create_bgpvpn_router_association(
            self.parents['bgpvpn']['id'],
            router_id=self.parents['router']['id']).id


class BgpvpnTest(contract.SiteFixtures, testbase.CloudTestCase):

    def raw(self, vpn_id):
        [vpn] = [v for v in self.net().bgpvpns() if v.id == vpn_id]
        return vpn

    def ensure(self, before=None, resource=None):
        return base.Ensure(resource or bgpvpn_resource()).execute(
            before=before, route_targets=ROUTE_TARGETS)

    def test_create_uses_type_and_route_targets(self):
        result = self.ensure(resource=bgpvpn_resource('l2'))
        raw = self.raw(result['id'])
        self.assertEqual(('gf-test-vpn', 'l2', [RT]),
                         (raw.name, raw.type, raw.route_targets))

    def test_made_by_someone_else_it_is_still_owned(self):
        self.make_bgpvpn()
        found = base.Probe(bgpvpn_resource()).execute(
            route_targets=ROUTE_TARGETS)
        self.assertIs(True, found['owned'])

    def test_adopting_converges_route_targets(self):
        existing = self.make_bgpvpn(route_targets=['64512:5'])
        result = self.ensure(before=existing)
        self.assertEqual([RT], self.raw(existing['id']).route_targets)
        self.assertEqual([RT], result['route_targets'])
        self.assertEqual({'route_targets': ['64512:5']}, result['previous'])

    def test_adopting_with_the_right_targets_changes_nothing(self):
        existing = self.make_bgpvpn(route_targets=[RT])
        result = self.ensure(before=existing)
        self.assertNotIn('previous', result)
        self.assertEqual(0, self.site('paris').calls['update_bgpvpn'])

    def test_revert_of_adopted_bgpvpn_restores_route_targets(self):
        existing = self.make_bgpvpn(route_targets=['64512:5'])
        task = base.Ensure(bgpvpn_resource())
        result = task.execute(before=existing, route_targets=ROUTE_TARGETS)
        task.revert(result, before=existing, route_targets=ROUTE_TARGETS)
        self.assertEqual(['64512:5'], self.raw(existing['id']).route_targets)

    def test_description_sorts_targets(self):
        self.make_bgpvpn(route_targets=['64512:2', '64512:1'],
                         import_targets=['64512:9', '64512:8'],
                         export_targets=['64512:7', '64512:6'])
        found = base.Probe(bgpvpn_resource()).execute(
            route_targets=ROUTE_TARGETS)
        self.assertEqual((['64512:1', '64512:2'], ['64512:8', '64512:9'],
                          ['64512:6', '64512:7']),
                         (found['route_targets'], found['import_targets'],
                          found['export_targets']))

    def test_drift_on_type(self):
        self.assertEqual(['is of type l2, the plan says l3'],
                         bgpvpn_resource().drift(
                             {'type': 'l2', 'route_targets': [RT]},
                             {'route_targets': ROUTE_TARGETS}))

    def test_drift_on_route_targets(self):
        self.assertEqual(['has route targets 64512:5, expected 64512:1000'],
                         bgpvpn_resource().drift(
                             {'type': 'l3', 'route_targets': ['64512:5']},
                             {'route_targets': ROUTE_TARGETS}))

    def test_no_drift_without_recorded_route_targets(self):
        self.assertEqual([], bgpvpn_resource().drift(
            {'type': 'l3', 'route_targets': ['64512:5']},
            {'route_targets': {'route_targets': None}}))

    def test_imports_and_exports_include_route_targets(self):
        found = {'route_targets': ['64512:1'], 'import_targets': ['64512:2'],
                 'export_targets': ['64512:3']}
        self.assertEqual(({'64512:1', '64512:2'}, {'64512:1', '64512:3'}),
                         (bgpvpn.imports(found), bgpvpn.exports(found)))


class AssociationTest(contract.SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.vpn = self.make_bgpvpn(route_targets=[RT])
        self.network = self.make_network()

    def test_network_association_of_a_subnet_targets_its_network(self):
        subnet = self.make_subnet(self.network, name='shared', owned=False)
        result = base.Ensure(network_association()).execute(
            before=None, bgpvpn=self.vpn, network=subnet)
        self.assertEqual(self.network['id'], result['network_id'])

    def test_association_with_another_network_is_not_it(self):
        other = self.make_network('other')
        self.net().create_bgpvpn_network_association(
            self.vpn['id'], network_id=other['id'])
        self.assertIsNone(base.Probe(network_association()).execute(
            bgpvpn=self.vpn, network=self.network))

    def test_ownership_follows_the_bgpvpn(self):
        self.net().create_bgpvpn_network_association(
            self.vpn['id'], network_id=self.network['id'])
        found = base.Probe(network_association()).execute(
            bgpvpn=dict(self.vpn, owned=False), network=self.network)
        self.assertIs(False, found['owned'])

    def test_router_association_targets_the_router(self):
        router = self.make_router(gateway=False)
        result = base.Ensure(router_association()).execute(
            before=None, bgpvpn=self.vpn, router=router)
        self.assertEqual(router['id'], result['router_id'])

    def test_labels_name_bgpvpn_target_and_site(self):
        self.assertEqual(
            ("network association of BGPVPN 'gf-test-vpn' with 'infra' "
             "(site 'paris')",
             "router association of BGPVPN 'gf-test-vpn' with 'edge' "
             "(site 'paris')"),
            (network_association().label, router_association().label))


class AllocateRouteTargetsTest(contract.SiteFixtures,
                               testbase.CloudTestCase):

    def task(self, spec=None, pool=None):
        spec = spec or vpn_spec()
        return bgpvpn.AllocateRouteTargets(
            'route_targets', spec,
            pool or testbase.OPTIONS['route_target_pool'],
            [spec['local']['site'], spec['remote']['site']])

    def test_explicit_route_targets_are_returned_as_they_are(self):
        task = self.task(vpn_spec(route_targets=['64512:7', '64512:8']))
        self.assertEqual({'route_targets': ['64512:7', '64512:8'],
                          'allocated': False}, task.execute(job_id='j1'))
        self.assertIsNone(self.store.route_target_of(OWNER))

    def test_allocates_the_first_value_of_the_pool(self):
        self.assertEqual({'route_targets': [RT], 'allocated': True},
                         self.task().execute(job_id='j1'))
        self.assertEqual(RT, self.store.route_target_of(OWNER))

    def test_skips_values_used_by_other_bgpvpns_of_both_sites(self):
        self.make_bgpvpn('theirs-1', route_targets=['64512:1000'])
        self.make_bgpvpn('theirs-2', region='lyon',
                         import_targets=['64512:1001'])
        self.make_bgpvpn('theirs-3', export_targets=['64512:1002'])
        result = self.task().execute(job_id='j1')
        self.assertEqual(['64512:1003'], result['route_targets'])

    def test_values_of_its_own_bgpvpn_are_not_skipped(self):
        self.make_bgpvpn('gf-test-vpn', route_targets=['64512:1000'])
        self.make_bgpvpn('gf-test-vpn', region='lyon',
                         route_targets=['64512:1000'])
        result = self.task().execute(job_id='j1')
        self.assertEqual([RT], result['route_targets'])

    def test_values_of_other_asns_are_not_skipped(self):
        self.make_bgpvpn('theirs', route_targets=['65000:1000'])
        result = self.task().execute(job_id='j1')
        self.assertEqual([RT], result['route_targets'])

    def test_values_allocated_to_other_interconnects_are_skipped(self):
        self.store.allocate_route_target('test/other', 'j0', 64512, 1000,
                                         1099)
        result = self.task().execute(job_id='j1')
        self.assertEqual(['64512:1001'], result['route_targets'])

    def test_exhausted_pool_is_an_allocation_error(self):
        self.make_bgpvpn('theirs', route_targets=['64512:1000'])
        task = self.task(pool={'asn': 64512, 'first': 1000, 'last': 1000})
        self.assertRaises(exceptions.AllocationError, task.execute,
                          job_id='j1')

    def test_same_job_again_gets_the_same_allocation(self):
        first = self.task().execute(job_id='j1')
        self.assertEqual(first, self.task().execute(job_id='j1'))

    def test_another_job_gets_the_same_value_unallocated(self):
        self.task().execute(job_id='j1')
        self.assertEqual({'route_targets': [RT], 'allocated': False},
                         self.task().execute(job_id='j2'))

    def test_revert_releases_this_jobs_allocation(self):
        task = self.task()
        result = task.execute(job_id='j1')
        task.revert(result, job_id='j1')
        self.assertIsNone(self.store.route_target_of(OWNER))

    def test_revert_of_another_job_keeps_the_allocation(self):
        self.task().execute(job_id='j1')
        task = self.task()
        result = task.execute(job_id='j2')
        task.revert(result, job_id='j2')
        self.assertEqual(RT, self.store.route_target_of(OWNER))

    def test_revert_of_failure_releases_this_jobs_allocation(self):
        task = self.task()
        task.execute(job_id='j1')
        task.revert(contract.a_failure(), job_id='j1')
        self.assertIsNone(self.store.route_target_of(OWNER))

    def test_revert_of_failure_without_allocation_is_noop(self):
        self.store.allocate_route_target(OWNER, 'j1', 64512, 1000, 1099)
        self.task().revert(contract.a_failure(), job_id='j2')
        self.assertEqual(RT, self.store.route_target_of(OWNER))

    def test_listing_failure_is_a_site_error(self):
        self.site('lyon').fail('bgpvpns')
        error = self.assertRaises(exceptions.SiteError, self.task().execute,
                                  job_id='j1')
        self.assertIn("site 'lyon'", str(error))
        self.assertIsNone(self.store.route_target_of(OWNER))


class LookupRouteTargetsTest(testbase.CloudTestCase):

    def test_explicit_route_targets(self):
        task = bgpvpn.LookupRouteTargets(
            'route_targets', vpn_spec(route_targets=['64512:7']))
        self.assertEqual({'route_targets': ['64512:7']}, task.execute())

    def test_allocated_route_target(self):
        self.store.allocate_route_target(OWNER, 'j1', 64512, 1000, 1099)
        task = bgpvpn.LookupRouteTargets('route_targets', vpn_spec())
        self.assertEqual({'route_targets': [RT]}, task.execute())

    def test_nothing_allocated(self):
        task = bgpvpn.LookupRouteTargets('route_targets', vpn_spec())
        self.assertEqual({'route_targets': None}, task.execute())

    def test_provides_its_name(self):
        task = bgpvpn.LookupRouteTargets('route_targets', vpn_spec())
        self.assertEqual(({'route_targets'}, set()),
                         (set(task.provides), set(task.requires)))


class ReleaseRouteTargetsTest(testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.task = bgpvpn.ReleaseRouteTargets('release_route_targets',
                                               vpn_spec())

    def test_releases_whichever_job_allocated(self):
        self.store.allocate_route_target(OWNER, 'setup-job', 64512, 1000,
                                         1099)
        self.assertEqual({'released': True}, self.task.execute())
        self.assertIsNone(self.store.route_target_of(OWNER))

    def test_nothing_to_release(self):
        self.assertEqual({'released': False}, self.task.execute())

    def test_keeps_other_interconnects_allocations(self):
        self.store.allocate_route_target('test/other', 'j1', 64512, 1000,
                                         1099)
        self.task.execute()
        self.assertEqual(RT, self.store.route_target_of('test/other'))
