"""The ``storage`` replication method and its Cinder driver, on the fake cloud.

A sync checks and records the replica (through the runner, paris to
lyon).  The failover runs where one Cinder manages the replicated backend:
its tasks are called on one fake site that stands for both sites.
"""

from taskflow import engines
from taskflow.patterns import linear_flow
import yaml

from geoflows import checkpoints
from geoflows import exceptions
from geoflows import jobs
from geoflows import replication
from geoflows.replication import storage
from geoflows.tasks import replication as steps
from geoflows.testing import sample
from tests.unit import base
from tests.unit import test_protection_jobs

STORAGE_DATA = {'pgw': [{'volume': 'pgw-1-cfg', 'method': 'storage'}]}
REPLICATED = {'replication_enabled': '<is> True'}


def make_plan(data=STORAGE_DATA):
    document = base.plan_data()
    document.update(yaml.safe_load(sample.group_yaml(
        primary='paris', dr='lyon', data=data)))
    return base.make_plan(document)


class TestStorageSync(test_protection_jobs.ProtectionTestCase):

    def setUp(self):
        super().setUp()
        self.plan = make_plan()
        job = self.runner.start('protect', self.plan)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.volume = self.ids['pgw-1-cfg']
        self.paris = self.site('paris')

    def test_a_volume_not_replicated_fails_the_sync_with_the_fix(self):
        before = self.inventory()
        job = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.REVERTED, job.state)
        for text in ('pgw-1-cfg', self.volume, 'is not replicated',
                     "replication_status is 'disabled'",
                     "replication_enabled='<is> True'", 'cinder retype',
                     'another method'):
            self.assertIn(text, job.error)
        self.assertEqual(before, self.inventory())

    def test_a_replicated_volume_is_recorded(self):
        self.paris.add_volume_type('mirrored', **REPLICATED)
        self.paris.block_storage.retype_volume(self.volume, 'mirrored')
        job = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        cp = checkpoints.latest(self.store, 'test', 'core')
        [record] = cp.vnfs['pgw']['copies']
        self.assertEqual('storage', record['method'])
        self.assertEqual('cinder', record['driver'])
        self.assertEqual(self.volume, record['volume'])
        self.assertEqual({'replication_status': 'enabled',
                          'volume_type': 'mirrored',
                          'replication_enabled': '<is> True',
                          'group_id': None, 'host': 'cinder@primary#primary',
                          'backend_id': None}, record['replica'])
        method = replication.get('storage')
        self.assertEqual(self.volume, method.copy_id(record))
        self.assertEqual([], method.prune(self.clouds, record))
        # Nothing was copied: no snapshot, backup or image of it.
        self.assertEqual([], list(self.paris.block_storage.snapshots()))
        self.assertEqual([], [b for b in self.paris.block_storage.backups()
                              if b.volume_id == self.volume])


class FailoverTestCase(base.CloudTestCase):
    """One Cinder (the fake site paris) for both sites."""

    SITE = {'name': 'paris', 'cloud': 'telco', 'region': 'paris'}

    def setUp(self):
        super().setUp()
        self.paris = self.site('paris')
        self.paris.add_volume_type('mirrored', **REPLICATED)
        cinder = self.paris.block_storage
        self.volume = cinder.create_volume(name='db', size=1,
                                           volume_type='mirrored').id
        self.plain = cinder.create_volume(name='plain', size=1).id

    def item(self, volume_id, **options):
        return replication.Item(
            key='data.db-1.%s' % volume_id, source=self.SITE,
            target=self.SITE, volume={'source_id': volume_id, 'name': 'db',
                                      'size': 1},
            marker='geoflows plan=test group=core', name='gf-core-x',
            chain_prefix='gf-core-', options=options, wait=(5, 0.0))

    def record(self, item):
        return steps.StorageRecord(item, storage.driver(
            item.options)).execute()

    def restore(self, item, record):
        """Run the method's restore steps; their results."""
        flow = linear_flow.Flow('restore').add(
            *replication.get('storage').restore(item, 'db-1-db'))
        engine = engines.load(flow, store={item.copy_key: dict(
            record, id=record['volume'])})
        engine.run()
        return {key: engine.storage.fetch(key) for key in (
            item.key + '.volume', item.key + '.volume.ready')}

    def replication_status(self, volume_id):
        return self.paris.block_storage.get_volume(
            volume_id).replication_status


class TestCinderDriver(FailoverTestCase):

    def test_the_backend_fails_over_once(self):
        item = self.item(self.volume)
        record = self.record(item)
        results = self.restore(item, record)
        self.assertEqual('failed-over', self.replication_status(self.volume))
        self.assertEqual({'id': self.volume, 'name': None, 'owned': False,
                          'failover': 'backend cinder@primary failed over'},
                         results[item.key + '.volume'])
        self.assertEqual('available', results[item.key + '.volume.ready'])
        self.assertEqual(['failed-over', 'secondary'],
                         self.paris.replication_state)
        # Only replicated volumes moved.
        self.assertEqual('disabled', self.replication_status(self.plain))
        # Again (a resumed takeover): nothing is failed over twice, which
        # Cinder would refuse.
        results = self.restore(item, record)
        self.assertIn('already failed over',
                      results[item.key + '.volume']['failover'])

    def test_the_backend_id_option_names_the_secondary(self):
        item = self.item(self.volume, backend_id='lyon-array')
        self.restore(item, self.record(item))
        self.assertEqual(['failed-over', 'lyon-array'],
                         self.paris.replication_state)

    def test_a_replication_group_fails_over_together(self):
        other = self.paris.block_storage.create_volume(
            name='db2', size=1, volume_type='mirrored').id
        group = self.paris.replication_group('vnf', [self.volume, other])
        item = self.item(self.volume)
        record = self.record(item)
        self.assertEqual(group, record['replica']['group_id'])
        results = self.restore(item, record)
        self.assertEqual('replication group %s failed over' % group,
                         results[item.key + '.volume']['failover'])
        self.assertEqual('failed-over', self.replication_status(other))
        self.assertEqual('failed-over', self.paris.block_storage.get_group(
            group).replication_status)
        # The backend itself did not fail over.
        self.assertEqual(['enabled', None], self.paris.replication_state)

    def test_an_unreplicated_volume_is_refused_at_the_copy(self):
        e = self.assertRaises(exceptions.ResourceError, self.record,
                              self.item(self.plain))
        self.assertIn('volume plain (%s) is not replicated' % self.plain,
                      str(e))

    def test_a_volume_unknown_at_the_dr_site_is_said(self):
        item = self.item(self.volume)
        record = dict(self.record(item), volume='volume-gone')
        e = self.assertRaises(exceptions.ResourceError, self.restore, item,
                              record)
        self.assertIn('volume volume-gone is unknown to the block storage '
                      'API of the DR site', str(e))
        self.assertIn('one Cinder for both sites', str(e))

    def test_a_backend_without_service_is_said(self):
        item = self.item(self.volume)
        record = self.record(item)
        self.paris._raw_block_storage._tables['volume'][self.volume][
            'host'] = 'cinder@elsewhere#pool'
        e = self.assertRaises(exceptions.ResourceError, self.restore, item,
                              record)
        self.assertIn("no cinder-volume service 'cinder@elsewhere'", str(e))
        self.assertIn('cinder failover-host', str(e))

    def test_a_failed_failover_is_an_error(self):
        item = self.item(self.volume)
        record = self.record(item)
        self.paris._raw_block_storage._tables['volume'][self.volume][
            'replication_status'] = 'failover-error'
        e = self.assertRaises(exceptions.ResourceError, self.restore, item,
                              record)
        self.assertIn("replication_status 'failover-error'", str(e))


class CustomDriver(storage.Driver):
    """A driver of an operator's, for the tests."""

    name = 'custom'

    def check(self, cinder, volume_id, options):
        return {'checked': volume_id}

    def failover(self, cinder, record, options):
        return 'custom failover'

    def status(self, cinder, record, options):
        return 'ready', cinder.get_volume(record['volume'])


class TestDrivers(FailoverTestCase):

    def test_an_operators_driver_by_its_path(self):
        path = 'tests.unit.test_replication_storage:CustomDriver'
        item = self.item(self.plain, driver=path)
        record = self.record(item)
        self.assertEqual('custom', record['driver'])
        self.assertEqual({'checked': self.plain}, record['replica'])
        results = self.restore(item, record)
        self.assertEqual('custom failover',
                         results[item.key + '.volume']['failover'])

    def test_options_are_checked(self):
        method = replication.get('storage')
        self.assertEqual([], method.problems({'options': {
            'driver': 'cinder', 'backend_id': 'b'}}))
        self.assertEqual([], method.problems({'options': {
            'driver': 'pkg.mod:Driver'}}))
        problems = dict(method.problems({'options': {
            'driver': 'netapp', 'backend_id': 3, 'max_chain': 2}}))
        self.assertIn('driver is one of cinder', problems[
            ('options', 'driver')])
        self.assertEqual('backend_id is a name',
                         problems[('options', 'backend_id')])
        self.assertIn("unknown option 'max_chain'",
                      problems[('options', 'max_chain')])
