"""Tests of the generic tasks (Probe, Ensure, Delete, Require, WaitActive).

Besides its own tests, this module holds what the tests of each resource
kind share: :class:`SiteFixtures` (resources made on a fake site as an
operator would make them) and :class:`ResourceContract` (what Probe,
Ensure and Delete must do with any kind of resource).  The kind modules
(test_network, test_bgpvpn, test_ipsec) mix the contract into one test
class per kind.
"""

import inspect
from unittest import mock

import fixtures
from taskflow import retry
from taskflow.types import failure

from geoflows import clouds
from geoflows import exceptions
from geoflows.tasks import base
from geoflows.tasks import ipsec
from geoflows.tasks import network
from tests.unit import base as testbase

PARIS = {'name': 'paris', 'cloud': 'telco', 'region': 'paris'}
LYON = {'name': 'lyon', 'cloud': 'telco', 'region': 'lyon'}
MARKER = base.marker('test', 'ic')
DEFAULT_IKE = {'auth_algorithm': 'sha256', 'encryption_algorithm': 'aes-256',
               'pfs': 'group14', 'lifetime': 3600, 'ike_version': 'v2'}
DEFAULT_IPSEC = {'auth_algorithm': 'sha256',
                 'encryption_algorithm': 'aes-256', 'pfs': 'group14',
                 'lifetime': 3600, 'transform_protocol': 'esp',
                 'encapsulation_mode': 'tunnel'}


def not_found():
    """The error the fake cloud raises for a resource that is gone."""
    return clouds.NotFound(message='gone (injected)', http_status=404)


def a_failure(error=None):
    """A Taskflow failure, as a revert receives it after a failed execute."""
    return failure.Failure.from_exception(error or RuntimeError('x'))


class SiteFixtures(object):
    """Helpers that make resources on a fake site, as an operator would.

    They return descriptions shaped like the results of geoflows' tasks,
    to pass as the parents of the resource under test.  ``region`` is
    'paris' or 'lyon' (sites of cloud 'telco').
    """

    def net(self, region='paris'):
        return self.site(region).network

    def public_network(self, region='paris'):
        return self.net(region).find_network('public')

    def make_network(self, name='infra', owned=True, region='paris',
                     **attrs):
        obj = self.net(region).create_network(
            name=name, description=MARKER if owned else '', **attrs)
        return {'id': obj.id, 'name': name, 'owned': owned,
                'availability_zone_hints': obj.availability_zone_hints}

    def make_subnet(self, network, cidr='10.1.0.0/24', name='infra',
                    owned=True, region='paris', **attrs):
        obj = self.net(region).create_subnet(
            network['id'], cidr, name=name,
            description=MARKER if owned else '', **attrs)
        return {'id': obj.id, 'name': name, 'owned': owned,
                'cidr': obj.cidr, 'network_id': obj.network_id,
                'segment_id': obj.segment_id}

    def make_router(self, name='edge', gateway=True, owned=True,
                    region='paris'):
        info = ({'network_id': self.public_network(region).id}
                if gateway else None)
        obj = self.net(region).create_router(
            name=name, description=MARKER if owned else '',
            external_gateway_info=info)
        return {'id': obj.id, 'name': name, 'owned': owned,
                'external_network_id': info['network_id'] if info else None}

    def make_bgpvpn(self, name='gf-test-vpn', region='paris', **attrs):
        obj = self.net(region).create_bgpvpn(name=name, **attrs)
        return {'id': obj.id, 'name': name, 'owned': True, 'type': obj.type,
                'route_targets': sorted(obj.route_targets),
                'import_targets': sorted(obj.import_targets),
                'export_targets': sorted(obj.export_targets)}

    def make_vpn_service(self, router, name='gf-test-sec', region='paris'):
        obj = self.net(region).create_vpn_service(
            router['id'], name=name, description=MARKER)
        return {'id': obj.id, 'name': name, 'owned': True,
                'status': obj.status, 'external_ip': obj.external_v4_ip,
                'router_id': obj.router_id}

    def make_connection_parents(self, region='paris'):
        """What an IPsec site connection hangs off, on ``region``."""
        net = self.net(region)
        network = self.make_network('oam', region=region)
        subnet = self.make_subnet(network, '10.3.0.0/24', 'oam',
                                  region=region)
        router = self.make_router(region=region)
        parents = {'vpnservice': self.make_vpn_service(router,
                                                       region=region)}
        for key, obj in (
                ('ikepolicy', net.create_vpn_ike_policy(
                    name='gf-test-sec-ike', description=MARKER)),
                ('ipsecpolicy', net.create_vpn_ipsec_policy(
                    name='gf-test-sec-ipsec', description=MARKER)),
                ('local_group', net.create_vpn_endpoint_group(
                    name='gf-test-sec-local', description=MARKER,
                    type='subnet', endpoints=[subnet['id']])),
                ('peer_group', net.create_vpn_endpoint_group(
                    name='gf-test-sec-peer', description=MARKER,
                    type='cidr', endpoints=['10.4.0.0/24']))):
            parents[key] = {'id': obj.id, 'name': obj.name, 'owned': True}
        parents['peer'] = {'id': 'vpnservice-of-the-peer', 'owned': True,
                           'external_ip': '198.51.100.7'}
        return parents

    def make_connection(self, parents, psk, name='gf-test-sec',
                        region='paris'):
        """Make an IPsec site connection with ``psk``; return its id."""
        return self.net(region).create_vpn_ipsec_site_connection(
            name=name, vpnservice_id=parents['vpnservice']['id'],
            ikepolicy_id=parents['ikepolicy']['id'],
            ipsecpolicy_id=parents['ipsecpolicy']['id'],
            local_ep_group_id=parents['local_group']['id'],
            peer_ep_group_id=parents['peer_group']['id'],
            peer_address=parents['peer']['external_ip'],
            peer_id=parents['peer']['external_ip'], psk=psk).id


class ResourceContract(SiteFixtures):
    """What Probe, Ensure and Delete do with any kind of resource.

    A test class mixes this in (before CloudTestCase) and says how to build
    its kind, on the fake site of paris:

    * ``make_parents()``: the descriptions of its parents (made on the
      site), by input name;
    * ``make_resource()``: the :class:`Resource`;
    * ``make_existing()``: the resource made as an operator would make it
      (without geoflows); returns its id.

    ``table`` names its table in the fake cloud, ``delete_method`` the
    proxy method that deletes it, ``fields`` the kind-specific fields of
    its description and ``existing_owned`` whether geoflows counts what
    ``make_existing`` made as its own.
    """

    table = None
    delete_method = None
    fields = frozenset()
    existing_owned = False

    def setUp(self):
        super().setUp()
        self.parents = self.make_parents()
        self.resource = self.make_resource()
        self.paris = self.site('paris')
        self.baseline = set(self.ids())

    def make_parents(self):
        return {}

    def ids(self):
        return [r.id for r in self.paris._raw_network.resources(self.table)]

    def added(self):
        """Ids of the resources of the kind made since setUp."""
        return sorted(set(self.ids()) - self.baseline)

    def probe(self, **parents):
        return base.Probe(self.resource).execute(
            **(parents or self.parents))

    def ensure(self, before=None):
        return base.Ensure(self.resource).execute(before=before,
                                                  **self.parents)

    def revert(self, result, before=None):
        return base.Ensure(self.resource).revert(result, before=before,
                                                 **self.parents)

    def delete(self, found):
        return base.Delete(self.resource).execute(found=found,
                                                  **self.parents)

    def test_probe_returns_none_when_absent(self):
        self.assertIsNone(self.probe())

    def test_probe_describes_existing_resource(self):
        existing = self.make_existing()
        found = self.probe()
        self.assertEqual(existing, found['id'])
        self.assertEqual({'id', 'name', 'owned'} | set(self.fields),
                         set(found))
        self.assertIs(self.existing_owned, found['owned'])

    def test_ensure_creates_when_absent(self):
        result = self.ensure()
        self.assertEqual([result['id']], self.added())
        self.assertIs(True, result['created'])
        self.assertIs(True, result['owned'])

    def test_ensure_result_is_the_description(self):
        result = self.ensure()
        self.assertEqual({'id', 'name', 'owned', 'created'} | set(
            self.fields), set(result))
        self.assertEqual(self.resource.name, result['name'])

    def test_ensure_adopts_existing_resource(self):
        existing = self.make_existing()
        before = self.probe()
        inventory = self.paris.inventory()
        result = self.ensure(before)
        self.assertEqual(existing, result['id'])
        self.assertIs(False, result['created'])
        self.assertNotIn('previous', result)
        self.assertEqual(inventory, self.paris.inventory())

    def test_ensure_finds_what_an_earlier_attempt_created(self):
        first = self.ensure()
        second = self.ensure()
        self.assertEqual(first['id'], second['id'])
        self.assertIs(True, second['created'])
        self.assertEqual([first['id']], self.added())

    def test_revert_deletes_what_the_job_created(self):
        result = self.ensure()
        self.revert(result)
        self.assertEqual([], self.added())

    def test_revert_keeps_adopted_resource(self):
        existing = self.make_existing()
        before = self.probe()
        result = self.ensure(before)
        self.revert(result, before=before)
        self.assertIn(existing, self.ids())

    def test_revert_of_failure_deletes_what_exists_by_identity(self):
        self.ensure()  # the API made it, then the answer was lost
        self.revert(a_failure())
        self.assertEqual([], self.added())

    def test_revert_of_failure_without_resource_is_noop(self):
        inventory = self.paris.inventory()
        self.revert(a_failure())
        self.assertEqual(inventory, self.paris.inventory())
        self.assertEqual(0, self.paris.calls[self.delete_method])

    def test_revert_of_failure_keeps_adopted_resource(self):
        existing = self.make_existing()
        self.revert(a_failure(), before=self.probe())
        self.assertIn(existing, self.ids())
        self.assertEqual(0, self.paris.calls[self.delete_method])

    def test_revert_tolerates_not_found(self):
        result = self.ensure()
        self.paris.fail(self.delete_method, error=not_found())
        self.revert(result)
        self.assertEqual(1, self.paris.calls[self.delete_method])

    def test_ensure_recreates_what_vanished_after_the_probe(self):
        existing = self.make_existing()
        before = self.probe()
        getattr(self.paris._raw_network, self.delete_method)(
            *self.delete_args(existing))
        result = self.ensure(before)
        self.assertIs(True, result['created'])
        self.revert(result, before=before)
        self.assertEqual([], self.added())

    def delete_args(self, resource_id):
        """Arguments of the fake's delete method for one resource."""
        return (resource_id,)

    def test_delete_removes_what_geoflows_created(self):
        result = self.ensure()
        outcome = self.delete(result)
        self.assertEqual({'deleted': True, 'id': result['id']}, outcome)
        self.assertEqual([], self.added())

    def test_delete_keeps_what_geoflows_did_not_create(self):
        existing = self.make_existing()
        found = dict(self.probe(), owned=False)
        outcome = self.delete(found)
        self.assertEqual({'deleted': False,
                          'reason': 'not created by geoflows'}, outcome)
        self.assertIn(existing, self.ids())

    def test_delete_of_absent_resource_is_noop(self):
        outcome = self.delete(None)
        self.assertEqual({'deleted': False, 'reason': 'absent'}, outcome)
        self.assertEqual(0, self.paris.calls[self.delete_method])

    def test_delete_tolerates_not_found(self):
        result = self.ensure()
        self.paris.fail(self.delete_method, error=not_found())
        outcome = self.delete(result)
        self.assertEqual({'deleted': False, 'reason': 'absent'}, outcome)


class ChildContract(object):
    """What the generic tasks do with a resource whose parent is missing."""

    def test_probe_with_a_missing_parent_returns_none(self):
        self.make_existing()
        for name in self.resource.parents:
            parents = dict(self.parents, **{name: None})
            self.assertIsNone(self.probe(**parents), name)


class MarkerTest(testbase.TestCase):

    def test_marker_names_plan_and_interconnect(self):
        self.assertEqual('geoflows plan=test interconnect=vpn',
                         base.marker('test', 'vpn'))


class OnlyTest(testbase.TestCase):

    def test_no_item_is_none(self):
        self.assertIsNone(base.only([], 'networks'))

    def test_one_item_is_returned(self):
        self.assertEqual('a', base.only(iter(['a']), 'networks'))

    def test_several_items_are_an_error_naming_their_ids(self):
        items = [mock.Mock(id='net-1'), mock.Mock(id='net-2')]
        error = self.assertRaises(exceptions.ResourceError, base.only,
                                  items, 'networks named infra')
        self.assertIn('found 2 networks named infra', str(error))
        self.assertIn('net-1, net-2', str(error))


class ResourceTest(testbase.TestCase):

    def test_label_names_kind_name_and_site(self):
        resource = network.Network('local.network.infra', PARIS, 'infra')
        self.assertEqual("network 'infra' on site 'paris'", resource.label)

    def test_without_marker_nothing_is_owned(self):
        resource = network.Network('local.network.infra', PARIS, 'infra')
        self.assertFalse(resource.owned(mock.Mock(description=''), {}))

    def test_marker_in_description_means_owned(self):
        resource = network.Network('local.network.infra', PARIS, 'infra',
                                   marker=MARKER)
        self.assertTrue(resource.owned(mock.Mock(description=MARKER), {}))

    def test_tasks_are_named_after_the_key(self):
        resource = network.Subnet(
            'local.subnet.infra', PARIS, 'infra', cidr='10.1.0.0/24',
            parents={'network': 'local.network.infra'})
        names = [(t.name, sorted(t.requires), sorted(t.provides)) for t in (
            base.Probe(resource), base.Ensure(resource),
            base.Delete(resource))]
        self.assertEqual([
            ('local.subnet.infra.probe', ['local.network.infra'],
             ['local.subnet.infra.before']),
            ('local.subnet.infra',
             ['local.network.infra', 'local.subnet.infra.before'],
             ['local.subnet.infra']),
            ('local.subnet.infra.delete',
             ['local.network.infra', 'local.subnet.infra'],
             ['local.subnet.infra.deleted']),
        ], names)


class ProbeTest(SiteFixtures, testbase.CloudTestCase):

    def test_probe_can_provide_under_another_name(self):
        resource = network.Network('local.network.infra', PARIS, 'infra')
        probe = base.Probe(resource, provides='local.network.infra')
        self.assertEqual({'local.network.infra'}, set(probe.provides))
        self.assertEqual('local.network.infra.probe', probe.name)

    def test_probe_of_a_site_error_is_a_site_error(self):
        resource = network.Network('local.network.infra', PARIS, 'infra')
        self.site('paris').fail('networks')
        error = self.assertRaises(exceptions.SiteError,
                                  base.Probe(resource).execute)
        self.assertIn("site 'paris'", str(error))
        self.assertIn("look up network 'infra'", str(error))


class EnsureErrorsTest(SiteFixtures, testbase.CloudTestCase):
    """An API that fails is reported, never swallowed."""

    def setUp(self):
        super().setUp()
        self.resource = network.Network('local.network.infra', PARIS,
                                        'infra', marker=MARKER)

    def test_create_failure_is_a_site_error(self):
        self.site('paris').fail('create_network')
        error = self.assertRaises(exceptions.SiteError,
                                  base.Ensure(self.resource).execute,
                                  before=None)
        self.assertIn("create network 'infra'", str(error))
        self.assertIn('HTTP 500', str(error))

    def test_revert_that_cannot_delete_raises(self):
        task = base.Ensure(self.resource)
        result = task.execute(before=None)
        self.site('paris').fail('delete_network')
        self.assertRaises(exceptions.SiteError, task.revert, result,
                          before=None)
        self.assertIsNotNone(base.Probe(self.resource).execute())

    def test_delete_that_cannot_delete_raises(self):
        result = base.Ensure(self.resource).execute(before=None)
        self.site('paris').fail('delete_network')
        self.assertRaises(exceptions.SiteError,
                          base.Delete(self.resource).execute, found=result)


class RevertOwnershipTest(SiteFixtures, testbase.CloudTestCase):

    def test_revert_keeps_a_resource_someone_else_made_meanwhile(self):
        resource = network.Network('local.network.infra', PARIS, 'infra',
                                   marker=MARKER)
        # The job failed before it created the network; an operator then
        # made one of that name.
        self.make_network('infra', owned=False)
        base.Ensure(resource).revert(a_failure(), before=None)
        self.assertIsNotNone(base.Probe(resource).execute())


class RequireTest(SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.resource = network.ExistingSubnet(
            'local.existing-subnet.shared', PARIS, 'shared')

    def test_require_describes_existing_resource(self):
        subnet = self.make_subnet(self.make_network(), name='shared',
                                  owned=False)
        self.assertEqual(
            {'id': subnet['id'], 'name': 'shared', 'owned': False,
             'cidr': '10.1.0.0/24', 'network_id': subnet['network_id']},
            base.Require(self.resource).execute())

    def test_require_names_resource_and_hint_when_missing(self):
        error = self.assertRaises(exceptions.ResourceError,
                                  base.Require(self.resource).execute)
        self.assertEqual(
            "subnet 'shared' on site 'paris' does not exist; the plan "
            "references it: create it or correct the plan", str(error))

    def test_require_provides_the_key(self):
        task = base.Require(self.resource)
        self.assertEqual('local.existing-subnet.shared', task.name)
        self.assertEqual({'local.existing-subnet.shared'}, set(task.provides))


class WaitActiveTest(SiteFixtures, testbase.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.paris = self.site('paris')
        self.router = self.make_router()
        self.resource = ipsec.VpnService(
            'local.vpnservice', PARIS, 'gf-test-sec',
            parents={'router': 'local.router'}, marker=MARKER)

    def wait(self, current):
        return base.WaitActive(self.resource).execute(current=current,
                                                      router=self.router)

    def test_active_resource_passes(self):
        service = self.make_vpn_service(self.router)
        self.assertEqual('ACTIVE', self.wait(service))

    def test_pending_resource_is_not_ready(self):
        self.paris.reads_until_active = 1
        service = self.make_vpn_service(self.router)
        error = self.assertRaises(exceptions.NotReady, self.wait, service)
        self.assertIn('is PENDING_CREATE, not ACTIVE yet', str(error))

    def test_pending_update_is_not_ready(self):
        service = self.make_vpn_service(self.router)
        self.wait(service)
        self.paris._raw_network._update('vpnservice', service['id'],
                                        status='PENDING_UPDATE')
        self.assertRaises(exceptions.NotReady, self.wait, service)

    def test_resource_becomes_ready_after_reads(self):
        self.paris.reads_until_active = 1
        service = self.make_vpn_service(self.router)
        self.assertRaises(exceptions.NotReady, self.wait, service)
        self.assertEqual('ACTIVE', self.wait(service))

    def test_resource_in_error_is_a_resource_error(self):
        self.paris.vpn_status = 'ERROR'
        service = self.make_vpn_service(self.router)
        error = self.assertRaises(exceptions.ResourceError, self.wait,
                                  service)
        self.assertNotIsInstance(error, exceptions.NotReady)
        self.assertIn("VPN service 'gf-test-sec' on site 'paris' is in "
                      "ERROR", str(error))

    def test_resource_that_disappeared_is_a_resource_error(self):
        service = self.make_vpn_service(self.router)
        self.net().delete_vpn_service(service['id'])
        error = self.assertRaises(exceptions.ResourceError, self.wait,
                                  service)
        self.assertIn('disappeared', str(error))

    def test_task_is_named_after_the_key(self):
        task = base.WaitActive(self.resource)
        self.assertEqual('local.vpnservice.active', task.name)
        self.assertEqual({'local.vpnservice', 'local.router'},
                         set(task.requires))


class PacedRetryTest(testbase.TestCase):

    def setUp(self):
        super().setUp()
        self.sleep = self.useFixture(
            fixtures.MockPatchObject(base.time, 'sleep')).mock
        self.retry = base.PacedRetry('local.vpnservice.retry', attempts=3,
                                     interval=2.5)

    @staticmethod
    def history(*attempts):
        """A retry history; each attempt is a list of exceptions."""
        return retry.History([
            (number, {'step-%d' % i: a_failure(error)
                      for i, error in enumerate(errors)})
            for number, errors in enumerate(attempts, 1)])

    def test_not_ready_is_retried(self):
        history = self.history([exceptions.NotReady('pending')])
        self.assertEqual(retry.RETRY, self.retry.on_failure(history))

    def test_not_ready_reverts_when_attempts_are_exhausted(self):
        history = self.history(*[[exceptions.NotReady('pending')]] * 3)
        self.assertEqual(retry.REVERT_ALL, self.retry.on_failure(history))

    def test_other_failure_reverts_at_once(self):
        history = self.history([exceptions.ResourceError('in ERROR')])
        self.assertEqual(retry.REVERT_ALL, self.retry.on_failure(history))

    def test_other_failure_among_not_ready_reverts_at_once(self):
        history = self.history([exceptions.NotReady('pending'),
                                RuntimeError('boom')])
        self.assertEqual(retry.REVERT_ALL, self.retry.on_failure(history))

    def test_only_the_latest_attempt_decides(self):
        history = self.history([RuntimeError('boom')],
                               [exceptions.NotReady('pending')])
        self.assertEqual(retry.RETRY, self.retry.on_failure(history))

    def test_first_attempt_does_not_sleep(self):
        self.assertEqual(1, self.retry.execute(self.history()))
        self.sleep.assert_not_called()

    def test_later_attempts_sleep_the_interval(self):
        history = self.history([exceptions.NotReady('pending')])
        self.assertEqual(2, self.retry.execute(history))
        self.sleep.assert_called_once_with(2.5)


class ArgMappingTest(testbase.TestCase):
    """Taskflow's argument mapping, computed once per task shape."""

    SITE = {'name': 'paris', 'cloud': 'telco', 'region': 'paris'}

    def test_tasks_of_one_shape_get_equal_mappings(self):
        first = _Echo('a', self.SITE)
        second = _Echo('b', self.SITE)

        self.assertEqual({'value': 'value'}, dict(first.rebind))
        self.assertEqual(dict(first.rebind), dict(second.rebind))
        self.assertEqual(set(first.requires), set(second.requires))

    def test_rebind_gives_another_mapping(self):
        plain = _Echo('a', self.SITE)
        rebound = _Echo('b', self.SITE, rebind={'value': 'network.id'})

        self.assertEqual({'value'}, set(plain.requires))
        self.assertEqual({'network.id'}, set(rebound.requires))

    def test_a_task_changing_its_mapping_does_not_change_others(self):
        first = _Echo('a', self.SITE)
        first.rebind['value'] = 'changed'

        second = _Echo('b', self.SITE)

        self.assertEqual({'value': 'value'}, dict(second.rebind))

    def test_injected_inputs_are_not_required(self):
        task = _Echo('a', self.SITE, inject={'value': 1})

        self.assertEqual(set(), set(task.requires))

    def test_the_mappings_kept_are_bounded(self):
        # Inputs that carry a VNF's name are never shared: a conductor
        # that runs takeover after takeover must not keep them all.
        self.useFixture(fixtures.MockPatchObject(
            base, 'ARG_MAPPINGS_KEPT', 10))
        for i in range(25):
            task = _Echo('a', self.SITE, rebind={'value': 'port.%d' % i})
            self.assertEqual({'port.%d' % i}, set(task.requires))
            self.assertLessEqual(len(base._ARG_MAPPINGS), 10)

    def test_signatures_are_those_of_the_bound_methods(self):
        task = _Echo('a', self.SITE)
        self.assertEqual(['value'], list(
            inspect.signature(base._stand_in(task.execute)).parameters))
        # Extra inputs are still refused, as Taskflow refuses them.
        self.assertRaises(ValueError, _Echo, 'b', self.SITE,
                          requires=['other'])


class _Echo(base.GeoflowsTask):

    def execute(self, value):
        return value
