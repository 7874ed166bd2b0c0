"""The Python API of takeovers: geoflows.takeover, on the fake cloud."""

from keystoneauth1 import exceptions as ksa_exc

from geoflows.checkpoints import groups
from geoflows import exceptions
from geoflows import jobs
from geoflows import takeover
from tests.unit import test_takeover_jobs


class TestParams(test_takeover_jobs.TakeoverTestCase):

    def test_what_goes_together(self):
        self.assertEqual({'mode': 'planned'}, takeover.params('planned'))
        self.assertEqual({'mode': 'disaster', 'confirm_primary_lost': True,
                          'checkpoint': 'abcd1234'},
                         takeover.params('disaster', True, 'ABCD1234'))
        for args, text in (((None,), 'say which takeover'),
                           (('both',), 'say which takeover'),
                           (('disaster',), 'confirm that the primary'),
                           (('planned', True), 'needs the primary'),
                           (('planned', False, 'abcd1234'),
                            'makes its own checkpoint'),
                           (('disaster', True, 'x' * 10 ** 6),
                            'is not a checkpoint id')):
            e = self.assertRaises(exceptions.GeoflowsError, takeover.params,
                                  *args)
            self.assertIn(text, str(e))
            self.assertLess(len(str(e)), 500)


class TestApi(test_takeover_jobs.TakeoverTestCase):

    def test_predict_then_take_over_then_verify(self):
        [predicted] = takeover.predict(self.runner, self.plan, ['core'])
        self.assertEqual(self.checkpoint.id, predicted['checkpoint'])
        self.assertEqual({'hss', 'pgw', 'fw'}, set(predicted['vnfs']))
        job = takeover.takeover(self.runner, self.plan, ['core'],
                                mode='disaster', confirm_primary_lost=True,
                                checkpoint=self.checkpoint.id[:8])
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        [report] = takeover.reports(job)
        self.assertEqual(self.checkpoint.id, report['checkpoint'])
        self.assertTrue(all(v['ready'] for v in report['vnfs'].values()))
        [verified] = takeover.verify(self.runner, self.plan)
        self.assertEqual(('core', 'lyon', self.checkpoint.id, []),
                         (verified['group'], verified['site'],
                          verified['checkpoint'], verified['differences']))
        # Taken over: neither a second takeover nor a prediction of one.
        for call, kwargs in ((takeover.takeover, {'mode': 'planned'}),
                             (takeover.predict, {})):
            e = self.assertRaises(exceptions.GeoflowsError, call,
                                  self.runner, self.plan, **kwargs)
            self.assertIn('already runs at site lyon', str(e))

    def test_unknown_groups_and_checkpoints(self):
        for call in (takeover.predict, takeover.verify):
            e = self.assertRaises(exceptions.GeoflowsError, call,
                                  self.runner, self.plan, ['nope'])
            self.assertIn("has no protection group 'nope'", str(e))
            e = self.assertRaises(exceptions.GeoflowsError, call,
                                  self.runner, self.plan, None, 'feedbeef')
            self.assertIn("no checkpoint 'feedbeef'", str(e))
        e = self.assertRaises(exceptions.GeoflowsError, takeover.takeover,
                              self.runner, self.plan, ['nope'],
                              mode='planned')
        self.assertIn("has no protection group 'nope'", str(e))
        e = self.assertRaises(exceptions.GeoflowsError, takeover.fence,
                              self.runner, self.plan, [])
        self.assertIn('name the groups to fence', str(e))
        self.assertEqual([], [j for j in self.store.list_jobs()
                              if j.operation == 'takeover'])

    def test_fence_again_then_the_fence_job_reverted(self):
        self.site('paris').fail(
            'get_server', times=1000,
            error=ksa_exc.ConnectFailure('connection refused'))
        job = takeover.takeover(self.runner, self.plan, mode='disaster',
                                confirm_primary_lost=True)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        [row] = takeover.fence_states(self.runner, self.plan)
        self.assertEqual(groups.NOT_FENCED, row['fence'])
        e = self.assertRaises(exceptions.PreflightError, self.runner.start,
                              'sync', self.plan)
        self.assertIn('group core is not fenced', str(e))
        paris = self.site('paris')
        with paris.lock:
            paris._faults.clear()
        [row] = takeover.fence(self.runner, self.plan, ['core'])
        self.assertEqual(groups.FENCED, row['fence'])
        self.assertIn('stopped 6 servers', row['detail'])
        fence_job = self.runner.get(row['job'])
        self.assertEqual('fence', fence_job.operation)
        # Undoing the fence job does not start the VNFs at the primary.
        reverted = self.runner.revert(fence_job.id)
        self.assertEqual(jobs.REVERTED, reverted.state, reverted.error)
        self.assertTrue(all(s.status == 'SHUTOFF'
                            for s in paris.compute.servers()))

    def test_a_takeover_undone_leaves_nothing_to_fence(self):
        paris = self.site('paris')
        paris.fail('get_server', times=1000,
                   error=ksa_exc.ConnectFailure('connection refused'))
        job = takeover.takeover(self.runner, self.plan, mode='disaster',
                                confirm_primary_lost=True)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        with paris.lock:
            paris._faults.clear()
        job = self.runner.revert(job.id)
        self.assertEqual(jobs.REVERTED, job.state, job.error)
        # The primary serves the group again: not to be fenced, and synced.
        [row] = takeover.fence_states(self.runner, self.plan)
        self.assertIsNone(row['fence'])
        e = self.assertRaises(exceptions.GeoflowsError, takeover.fence,
                              self.runner, self.plan, ['core'])
        self.assertIn('served by its primary paris', str(e))
        sync = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.SUCCESS, sync.state, sync.error)

    def test_fencing_after_a_planned_takeover_reads_the_checkpoint(self):
        job = takeover.takeover(self.runner, self.plan, mode='planned')
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        # No fencing step in a planned takeover: the servers and ports to
        # fence come from its checkpoint; the servers are already stopped.
        [row] = takeover.fence(self.runner, self.plan, ['core'])
        self.assertEqual(groups.FENCED, row['fence'])
        self.assertIn('stopped 0 servers', row['detail'])
        fence_job = self.runner.get(row['job'])
        [unit] = fence_job.units
        self.assertEqual({'hss-1', 'hss-2', 'pgw-1', 'pgw-2', 'fw-1',
                          'fw-2'},
                         {s['name'] for s in unit['args']['servers']})
        paris = self.site('paris').network
        self.assertTrue(all(paris.get_port(port).is_admin_state_up is False
                            for s in unit['args']['servers']
                            for port in s['ports']))
