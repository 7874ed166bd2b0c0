"""Protection status: the achieved RPO per VNF against its target."""

import copy
import datetime

from geoflows.actions import protection as protection_action
from geoflows import checkpoints
from geoflows.checkpoints import drills
from geoflows.checkpoints import groups
from geoflows import drill
from geoflows import jobs
from geoflows import metrics
from geoflows import protection_status as status
from geoflows import store as store_mod
from tests.unit import base
from tests.unit import test_drill_jobs

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


class TestRehearsals(test_drill_jobs.DrillTestCase):
    """The RTO in the status: predicted, measured by the last drill."""

    def rows(self, plan=None):
        from geoflows import protection
        return {r.vnf: r for r in protection.status(
            self.runner, plan or self.plan, ask_dr_site=False)}

    def plan_with(self, vnf, **changes):
        """The test plan with a VNF of its group changed."""
        data = copy.deepcopy(self.plan.document)
        [group] = data['protection_groups']
        [entry] = [v for v in group['vnfs'] if v['name'] == vnf]
        entry.update(changes)
        return base.make_plan(data)

    def test_never_drilled(self):
        rows = self.rows()
        self.assertEqual({status.NEVER_REHEARSED},
                         {r.rehearsal for r in rows.values()})
        for name, row in rows.items():
            self.assertEqual((None, None, None),
                             (row.drill_job, row.drill_at, row.drill_rto))
            self.assertEqual(900, row.rto_target)
            # Predicted from the defaults and the last sync's backups.
            self.assertGreater(row.predicted_rto, 0, name)
            self.assertTrue(row.predicted_rto_met, name)
        # The metrics' status reads no RTO.
        quiet = status.of_plan(self.store, self.plan)
        self.assertEqual({None}, {r.rehearsal for r in quiet})
        self.assertEqual({None}, {r.predicted_rto for r in quiet})

    def test_a_drill_shows_its_rto_until_the_plan_changes(self):
        job = self.drill()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        [report] = drill.reports(job)
        rows = self.rows()
        [copy_] = drills.listing(self.store, present=False)
        when = checkpoints.isoformat(copy_.created_at)
        for name, row in rows.items():
            self.assertEqual(report['vnfs'][name]['rto'], row.drill_rto)
            self.assertGreater(row.drill_rto, 0)
            self.assertTrue(row.drill_rto_met, name)
            self.assertEqual((job.id, when), (row.drill_job, row.drill_at))
            self.assertEqual('rehearsed %s' % when, row.rehearsal)
            self.assertIsNotNone(row.predicted_rto)
        # A VNF's priority changed: the drill rehearsed another plan.
        changed = self.plan_with('fw', priority=3)
        rows = self.rows(changed)
        self.assertEqual({'not rehearsed since %s' % when},
                         {r.rehearsal for r in rows.values()})
        # What that drill measured is still shown.
        self.assertEqual(report['vnfs']['fw']['rto'], rows['fw'].drill_rto)
        summary = protection_action.summary(changed, list(rows.values()),
                                            checkpoints.utcnow())
        self.assertEqual(['core'], summary['not_rehearsed'])
        core = summary['groups']['core']
        self.assertEqual((job.id, 'not rehearsed since %s' % when),
                         (core['last_drill'], core['rehearsal']))
        self.assertEqual(max(r.predicted_rto for r in rows.values()),
                         core['predicted_rto'])
        self.assertEqual(report['vnfs']['hss']['rto'],
                         core['vnfs']['hss']['drill_rto'])
        # A new drill of the plan as it is now rehearses it again.
        self.plan = changed
        again = self.drill()
        self.assertEqual(jobs.SUCCESS, again.state, again.error)
        rows = self.rows()
        self.assertEqual({again.id}, {r.drill_job for r in rows.values()})
        self.assertEqual({True}, {r.rehearsal.startswith('rehearsed ')
                                  for r in rows.values()})

    def test_a_target_the_prediction_exceeds(self):
        tight = copy.deepcopy(self.plan.document)
        tight['protection_groups'][0]['rto'] = '1s'
        rows = self.rows(base.make_plan(tight))
        self.assertEqual({False}, {r.predicted_rto_met for r in rows.values()
                                   if r.standby != 'hot'})
        self.assertEqual({1}, {r.rto_target for r in rows.values()})
