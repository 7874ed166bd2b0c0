"""The checkpoint records of the state store."""

import datetime

from geoflows import checkpoints
from geoflows import exceptions
from geoflows import store as store_mod
from tests.unit import base


class TestCheckpoints(base.TestCase):

    def setUp(self):
        super().setUp()
        self.store = store_mod.StateStore('sqlite:///%s/s.sqlite' % self.tmp)
        self.addCleanup(self.store.close)

    def open(self, job_id='job-1', group='core'):
        return checkpoints.open_checkpoint(
            self.store, job_id, 'plan', group, 'east', 'west',
            {'networks': [{'name': 'n'}]})

    def test_a_sync_opens_records_and_completes_one(self):
        cid = self.open()
        self.assertEqual(checkpoints.checkpoint_id('job-1'), cid)
        self.assertIsNone(checkpoints.latest(self.store, 'plan', 'core'))
        checkpoints.save_vnf(self.store, cid, 'hss',
                             '2026-12-01T10:00:01.000Z', {'servers': [1]})
        checkpoints.save_vnf(self.store, cid, 'pgw',
                             '2026-12-01T10:00:05.000Z', {'servers': [2]})
        checkpoints.complete(self.store, cid, ['hss', 'pgw'])
        cp = checkpoints.latest(self.store, 'plan', 'core')
        self.assertEqual(cid, cp.id)
        self.assertEqual(checkpoints.COMPLETE, cp.state)
        # Consistent as of its oldest VNF.
        self.assertEqual(datetime.datetime(2026, 12, 1, 10, 0, 1),
                         cp.consistent_at)
        self.assertEqual([1], cp.vnfs['hss']['servers'])
        self.assertEqual('2026-12-01T10:00:05.000Z',
                         cp.vnfs['pgw']['consistent_at'])
        self.assertEqual({'networks': [{'name': 'n'}]}, cp.document)
        now = datetime.datetime(2026, 12, 1, 10, 1, 1)
        self.assertEqual(60.0, cp.age(now))
        self.assertEqual(56.0, cp.vnf_age('pgw', now))

    def test_everything_is_idempotent(self):
        cid = self.open()
        self.assertEqual(cid, self.open())
        for _ in range(2):
            checkpoints.save_vnf(self.store, cid, 'hss',
                                 '2026-12-01T10:00:01.000Z', {'v': 2})
        checkpoints.complete(self.store, cid, ['hss'])
        checkpoints.complete(self.store, cid, ['hss'])
        [cp] = checkpoints.listing(self.store, with_vnfs=True)
        part = cp.vnfs['hss']
        self.assertEqual({'v': 2}, {k: v for k, v in part.items()
                                    if k != 'consistent_at'})

    def test_a_missing_part_keeps_it_open(self):
        cid = self.open()
        checkpoints.save_vnf(self.store, cid, 'hss',
                             '2026-12-01T10:00:01.000Z', {})
        e = self.assertRaises(exceptions.GeoflowsError, checkpoints.complete,
                              self.store, cid, ['hss', 'pgw'])
        self.assertIn('no record of VNF pgw', str(e))
        self.assertEqual(checkpoints.OPEN,
                         checkpoints.get(self.store, cid).state)

    def test_reopen_and_delete_undo(self):
        cid = self.open()
        checkpoints.save_vnf(self.store, cid, 'hss',
                             '2026-12-01T10:00:01.000Z', {})
        checkpoints.complete(self.store, cid, ['hss'])
        checkpoints.reopen(self.store, cid)
        self.assertIsNone(checkpoints.latest(self.store, 'plan', 'core'))
        checkpoints.delete(self.store, cid)
        self.assertRaises(exceptions.GeoflowsError, checkpoints.get,
                          self.store, cid)

    def test_newest_first_and_by_prefix(self):
        ids = []
        for i in range(3):
            cid = self.open('job-%d' % i)
            checkpoints.save_vnf(self.store, cid, 'hss',
                                 '2026-12-01T10:00:0%d.000Z' % i, {})
            checkpoints.complete(self.store, cid, ['hss'])
            ids.append(cid)
        listed = [c.id for c in checkpoints.listing(self.store, 'plan',
                                                    'core')]
        self.assertEqual(set(ids), set(listed))
        self.assertEqual(ids[0], checkpoints.get(self.store, ids[0][:8]).id)
        self.open('other', group='edge')
        self.assertEqual([], checkpoints.listing(self.store, 'plan', 'edge'))
        self.assertEqual(1, len(checkpoints.listing(
            self.store, 'plan', 'edge', states=(checkpoints.OPEN,))))
