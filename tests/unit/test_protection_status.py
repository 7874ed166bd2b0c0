"""Protection status: the achieved RPO per VNF against its target."""

import datetime

from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import metrics
from geoflows import protection_status as status
from geoflows import store as store_mod
from tests.unit import base

T0 = datetime.datetime(2026, 12, 1, 10, 0, 0)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


class TestStatus(base.TestCase):

    def setUp(self):
        super().setUp()
        self.store = store_mod.StateStore('sqlite:///%s/s.sqlite' % self.tmp)
        self.addCleanup(self.store.close)
        self.plan = base.make_plan(base.plan_data(protection_groups=[{
            'name': 'core', 'primary': 'paris', 'dr': 'lyon', 'rpo': 600,
            'rto': 900, 'sync_interval': 300,
            'vnfs': [{'name': 'hss', 'priority': 1, 'standby': 'hot',
                      'servers': ['hss-1']},
                     {'name': 'pgw', 'priority': 2, 'standby': 'cold',
                      'servers': ['pgw-1']}]}]))

    def checkpoint(self, job, when, vnfs=('hss', 'pgw')):
        cid = checkpoints.open_checkpoint(self.store, job, 'test', 'core',
                                          'paris', 'lyon', {})
        for vnf in vnfs:
            checkpoints.save_vnf(self.store, cid, vnf,
                                 checkpoints.isoformat(when), {})
        checkpoints.complete(self.store, cid, vnfs)
        return cid

    def rows(self, now):
        return {r.vnf: r for r in status.of_plan(self.store, self.plan,
                                                 now=now)}

    def test_without_a_copy_everything_is_violated(self):
        rows = self.rows(at(0))
        self.assertEqual({'hss': status.VIOLATED, 'pgw': status.VIOLATED},
                         {k: r.state for k, r in rows.items()})
        self.assertIsNone(rows['hss'].rpo)
        self.assertTrue(status.violated(rows.values()))

    def test_the_rpo_grows_with_time(self):
        cid = self.checkpoint('j1', at(0))
        rows = self.rows(at(12))
        self.assertEqual(12.0, rows['hss'].rpo)
        self.assertEqual(cid, rows['hss'].checkpoint)
        self.assertEqual(status.OK, rows['hss'].state)
        self.assertEqual(status.AT_RISK, self.rows(at(400))['pgw'].state)
        late = self.rows(at(601))
        self.assertEqual(status.VIOLATED, late['pgw'].state)
        self.assertTrue(status.violated(late.values()))
        # A newer checkpoint brings it back.
        self.checkpoint('j2', at(590))
        self.assertEqual(status.OK, self.rows(at(600))['pgw'].state)

    def test_a_failed_sync_puts_it_at_risk(self):
        self.checkpoint('j1', at(0))
        groups.mark_protected(self.store, 'test', 'core', 'paris', 'lyon',
                              self.plan.document, self.plan.digest, 300,
                              T0)
        groups.record_sync(self.store, 'test', 'core', 'j2',
                           error='site lyon: cannot reach it')
        row = self.rows(at(10))['hss']
        self.assertEqual(status.AT_RISK, row.state)
        self.assertIn('cannot reach', row.last_sync_error)
        self.assertTrue(row.protected)

    def test_metrics_show_the_same_figures(self):
        groups.mark_protected(self.store, 'test', 'core', 'paris', 'lyon',
                              self.plan.document, self.plan.digest, 300,
                              T0)
        self.checkpoint('j1', checkpoints.utcnow() -
                        datetime.timedelta(seconds=700))
        registry = metrics.registry(self.store)
        rpo = registry.get_sample_value('geoflows_rpo_seconds', {
            'plan': 'test', 'group': 'core', 'vnf': 'hss'})
        self.assertGreaterEqual(rpo, 700)
        self.assertLess(rpo, 800)
        self.assertEqual(600, registry.get_sample_value(
            'geoflows_rpo_target_seconds',
            {'plan': 'test', 'group': 'core', 'vnf': 'pgw'}))
        self.assertEqual(1, registry.get_sample_value(
            'geoflows_rpo_state', {'plan': 'test', 'group': 'core',
                                   'vnf': 'pgw', 'state': 'VIOLATED'}))
        self.assertEqual(0, registry.get_sample_value(
            'geoflows_rpo_state', {'plan': 'test', 'group': 'core',
                                   'vnf': 'pgw', 'state': 'OK'}))
        self.assertEqual(0, registry.get_sample_value(
            'geoflows_sync_failing', {'plan': 'test', 'group': 'core'}))
