"""Reprotect and failback on the fake cloud: the sample VNFs, taken over at
lyon after a disaster, go back to paris.
"""

import datetime

from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import exceptions
from geoflows import failback
from geoflows import jobs
from geoflows.store import tables
from tests.unit import test_takeover_jobs

DISASTER = test_takeover_jobs.DISASTER


class FailbackTestCase(test_takeover_jobs.TakeoverTestCase):

    def setUp(self):
        super().setUp()
        job = self.takeover()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.takeover_job = job

    def paris(self):
        return self.site('paris')

    def reprotect(self, **params):
        job = self.runner.start('reprotect', self.plan, params=params)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        sync = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.SUCCESS, sync.state, sync.error)
        return job, sync

    def failback(self, **params):
        return self.runner.start('failback', self.plan, params=dict(
            {'drain_time': 0}, **params))

    def chains(self, site):
        return {c.name for c in site.network.sfc_port_chains()}

    def marked(self, site):
        from geoflows.tasks import compute
        return {s.name: s for s in site.compute.servers()
                if (s.metadata or {}).get(compute.MARK_KEY)}


class TestReprotect(FailbackTestCase):

    def test_the_group_replicates_back_to_its_origin(self):
        job, sync = self.reprotect()
        state = groups.get(self.store, 'test', 'core')
        self.assertEqual(groups.REPROTECTED, state.state)
        self.assertEqual(('lyon', 'paris'), (state.source_site,
                                             state.target_site))
        self.assertEqual('lyon', state.serving_site)
        back = checkpoints.latest(self.store, 'test', 'core',
                                  source_site='lyon')
        self.assertEqual(checkpoints.checkpoint_id(sync.id), back.id)
        self.assertEqual('paris', back.target_site)
        # The forward checkpoints are kept for the next takeover.
        self.assertEqual(self.checkpoint.id, checkpoints.latest(
            self.store, 'test', 'core', source_site='paris').id)
        # The copy at paris holds what lyon's pgw-1 volume holds.
        [record] = back.vnfs['pgw']['copies'][:1]
        cinder = self.paris().block_storage
        restored = cinder.restore_backup(record['backup_id'], name='check')
        [dr_volume] = [v for v in self.lyon().block_storage.volumes()
                       if v.name == 'pgw-1-cfg']
        self.assertEqual(self.lyon().volume_sha256(dr_volume.id),
                         self.paris().volume_sha256(restored['volume_id']))

    def test_refused_unless_taken_over_and_not_twice(self):
        self.reprotect()
        e = self.assertRaises(exceptions.PreflightError, self.runner.start,
                              'reprotect', self.plan)
        self.assertIn('already (reprotected)', str(e))
        self.assertIn('geoflows failback', str(e))

    def test_a_sync_of_a_taken_over_group_is_refused(self):
        e = self.assertRaises(exceptions.PreflightError, self.runner.start,
                              'sync', self.plan)
        self.assertIn('geoflows reprotect', str(e))

    def test_an_unknown_site_is_refused(self):
        e = self.assertRaises(exceptions.GeoflowsError,
                              failback.reprotect_params, self.plan, 'nowhere')
        self.assertIn("'nowhere' is not a site", str(e))


class TestFailback(FailbackTestCase):

    def setUp(self):
        super().setUp()
        self.reprotect()

    def test_the_origin_serves_again_and_the_dr_site_stands_by(self):
        before = {s.name: s.id for s in self.paris().compute.servers()}
        job = self.failback()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        # Fresh VNFs at the origin, the old servers gone.
        servers = self.marked(self.paris())
        self.assertEqual(set(before), set(servers))
        self.assertFalse(set(before.values()) & {s.id for s in
                                                 servers.values()})
        self.assertEqual({'ACTIVE'}, {s.status for s in servers.values()})
        self.assertEqual({'edge'}, self.chains(self.paris()))
        # The DR site: no chain, cold VNF gone, warm and hot running.
        self.assertEqual(set(), self.chains(self.lyon()))
        dr = self.dr_servers()
        self.assertEqual({'hss-1', 'hss-2', 'pgw-1', 'pgw-2'}, set(dr))
        self.assertEqual({'ACTIVE'}, {s.status for s in dr.values()})
        pgw = dr['pgw-1']
        self.assertEqual([], list(self.lyon().compute.volume_attachments(
            pgw)))
        self.assertEqual([], self.lyon().sfc_violations)
        self.assertEqual([], self.paris().sfc_violations)
        state = groups.get(self.store, 'test', 'core')
        self.assertEqual(groups.PROTECTED, state.state)
        self.assertEqual(('paris', 'lyon'), (state.source_site,
                                             state.target_site))
        [report] = failback.reports(job)
        self.assertEqual({'hss', 'pgw', 'fw'}, set(report['vnfs']))
        for row in report['vnfs'].values():
            self.assertIsNotNone(row['origin_ready'])
            self.assertLessEqual(row['origin_ready'], report['serving_at'])
        # The origin is what it was before the disaster (ids aside).
        from geoflows import takeover
        [verdict] = takeover.verify(self.runner, self.plan,
                                    checkpoint=self.checkpoint.id,
                                    site='paris')
        self.assertEqual([], verdict['differences'])
        # Forward again.
        sync = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.SUCCESS, sync.state, sync.error)
        self.assertEqual('paris', checkpoints.latest(
            self.store, 'test', 'core').source_site)
        # Reverted no more: the origin serves.
        e = self.assertRaises(exceptions.JobError, self.runner.revert,
                              job.id)
        self.assertIn('the origin serves group core', str(e))

    def test_the_bytes_written_at_the_dr_site_come_back(self):
        [dr_volume] = [v for v in self.lyon().block_storage.volumes()
                       if v.name == 'pgw-1-cfg']
        self.lyon().write_volume(dr_volume.id, 4096, b'written at lyon')
        want = self.lyon().volume_sha256(dr_volume.id)
        job = self.failback()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        pgw = self.marked(self.paris())['pgw-1']
        shas = [self.paris().volume_sha256(a.volume_id)
                for a in self.paris().compute.volume_attachments(pgw)]
        self.assertIn(want, shas)

    def test_revert_before_the_origin_serves_gives_the_dr_site_back(self):
        job = self.failback(stage='origin')
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.assertEqual({'edge'}, self.chains(self.lyon()))
        self.assertEqual({'edge'}, self.chains(self.paris()))
        delink = self.failback(stage='delink')
        self.assertEqual(jobs.SUCCESS, delink.state, delink.error)
        self.assertEqual(set(), self.chains(self.lyon()))

    def test_revert_of_a_half_done_failback(self):
        job = self.failback(stage='origin')
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        reverted = self.runner.revert(job.id)
        self.assertEqual(jobs.REVERTED, reverted.state, reverted.error)
        self.assertEqual({'edge'}, self.chains(self.lyon()))
        self.assertEqual(set(), self.chains(self.paris()))
        self.assertEqual(set(), set(self.marked(self.paris())))
        state = groups.get(self.store, 'test', 'core')
        self.assertEqual(groups.REPROTECTED, state.state)

    def test_an_unfenced_origin_is_refused(self):
        [server] = [s for s in self.paris().compute.servers()
                    if s.name == 'pgw-1']
        self.paris().compute.start_server(server.id)
        e = self.assertRaises(exceptions.PreflightError, self.failback)
        self.assertIn('still run at paris: pgw-1 (ACTIVE)', str(e))
        self.assertIn('protection fence', str(e))

    def test_a_stale_reverse_checkpoint_is_refused(self):
        back = checkpoints.latest(self.store, 'test', 'core',
                                  source_site='lyon')
        with self.store.engine.begin() as conn:
            conn.execute(tables.checkpoint_vnfs.update().where(
                tables.checkpoint_vnfs.c.checkpoint_id == back.id).values(
                    consistent_at=checkpoints.utcnow() -
                    datetime.timedelta(hours=2)))
            conn.execute(tables.checkpoints.update().where(
                tables.checkpoints.c.id == back.id).values(
                    consistent_at=checkpoints.utcnow() -
                    datetime.timedelta(hours=2)))
        e = self.assertRaises(exceptions.PreflightError, self.failback)
        self.assertIn('over its RPO', str(e))

    def drain_plan(self, answers):
        """The plan with a drain hook on pgw; its calls logged.

        The hook answers ``answers`` in turn, then the last one again.
        """
        import os
        import stat
        from tests.unit import test_takeover_jobs as jobs_tests
        state = os.path.join(self.tmp, 'drain-count')
        log = os.path.join(self.tmp, 'drain.log')
        script = os.path.join(self.tmp, 'drain.sh')
        cases = ''.join('  %d) echo \'{"drained": %s}\' ;;\n' % (
            i + 1, 'true' if a else 'false') for i, a in enumerate(answers))
        with open(script, 'w') as f:
            f.write('#!/bin/sh\nn=$(( $(cat %s 2>/dev/null || echo 0) + 1 ))'
                    '\necho $n > %s\necho "$GEOFLOWS_VNF $n" >> %s\n'
                    'case $n in\n%s  *) echo \'{"drained": %s}\' ;;\nesac\n'
                    % (state, state, log, cases,
                       'true' if answers[-1] else 'false'))
        os.chmod(script, stat.S_IRWXU)
        self.drain_log = log
        return jobs_tests.make_plan(hooks={'pgw': {'drain': [
            {'command': [script]}]}})

    def test_a_drain_hook_is_asked_until_drained(self):
        self.plan = self.drain_plan([False, False, True])
        job = self.failback(drain_time=30)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        with open(self.drain_log) as f:
            self.assertEqual(['pgw 1', 'pgw 2', 'pgw 3'],
                             f.read().splitlines())
        steps = self.steps(job)
        self.assertLess(steps[('core/pgw.drain', 'drain')]['finished_at'],
                        steps[('core.delink.edge', 'chain')]['started_at'])

    def test_a_vnf_that_never_drains_stays_in_its_chain(self):
        self.plan = self.drain_plan([False])
        job = self.failback(drain_time=0.05)
        self.assertEqual(jobs.PARTIAL, job.state, job.error)
        self.assertIn('core/pgw.drain', job.result['failed'])
        self.assertIn('core.delink.edge', job.result['skipped'])
        self.assertIn('core.serving', job.result['skipped'])
        # The DR site serves on, its chain whole; the origin is built.
        self.assertEqual({'edge'}, self.chains(self.lyon()))
        self.assertEqual([], self.lyon().sfc_violations)
        state = groups.get(self.store, 'test', 'core')
        self.assertEqual(groups.REPROTECTED, state.state)
        # Reverted: the origin's fresh VNFs go, the DR site is untouched.
        reverted = self.runner.revert(job.id)
        self.assertEqual(jobs.REVERTED, reverted.state, reverted.error)
        self.assertEqual(set(), set(self.marked(self.paris())))
        self.assertEqual({'edge'}, self.chains(self.lyon()))

    def test_params_are_bounded(self):
        for bad in ({'stage': 'half'}, {'drain_time': -1},
                    {'drain_time': 10 ** 6}, {'drain_time': True},
                    {'drain_time': 'x'}):
            self.assertRaises(exceptions.GeoflowsError,
                              failback.failback_params, **bad)


class TestFailbackToAnotherSite(test_takeover_jobs.TakeoverTestCase):
    """The primary is gone for good: the group goes back to a new site."""

    def setUp(self):
        import yaml

        from geoflows.testing import sample
        from tests.unit import base
        super(test_takeover_jobs.TakeoverTestCase, self).setUp()
        data = base.plan_data()
        data['sites']['nice'] = {'cloud': 'telco', 'region': 'nice'}
        # No interconnect reaches nice yet: the group has none.
        data.update(yaml.safe_load(sample.group_yaml(primary='paris',
                                                     dr='lyon')))
        self.plan = base.make_plan(data)
        for operation in ('protect', 'sync'):
            job = self.runner.start(operation, self.plan)
            self.assertEqual(jobs.SUCCESS, job.state, job.error)
        job = self.runner.start('takeover', self.plan, params=DISASTER)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)

    def test_reprotected_to_nice_then_given_back_there(self):
        job = self.runner.start('reprotect', self.plan,
                                params={'to': 'nice'})
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        state = groups.get(self.store, 'test', 'core')
        self.assertEqual(('lyon', 'nice'), (state.source_site,
                                            state.target_site))
        sync = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.SUCCESS, sync.state, sync.error)
        job = self.runner.start('failback', self.plan,
                                params={'drain_time': 0})
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        nice = self.site('nice')
        self.assertEqual({'hss-1', 'hss-2', 'pgw-1', 'pgw-2', 'fw-1',
                          'fw-2'}, {s.name for s in nice.compute.servers()})
        self.assertEqual(['edge'], [c.name for c in
                                    nice.network.sfc_port_chains()])
        self.assertEqual([], list(self.lyon().network.sfc_port_chains()))
        # The old primary is left as it was: stopped, not removed.
        self.assertEqual({'SHUTOFF'}, {s.status for s in
                                       self.site('paris').compute.servers()})
        state = groups.get(self.store, 'test', 'core')
        self.assertEqual((groups.PROTECTED, 'nice', 'lyon'), (
            state.state, state.source_site, state.target_site))

    def test_an_unfenced_old_primary_is_refused(self):
        groups.record_fence(self.store, 'test', 'core', groups.NOT_FENCED,
                            'no answer', 'paris', 'lyon')
        job = self.runner.start('reprotect', self.plan,
                                params={'to': 'nice'})
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        sync = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.SUCCESS, sync.state, sync.error)
        e = self.assertRaises(exceptions.PreflightError, self.runner.start,
                              'failback', self.plan)
        self.assertIn('may still run at its old primary paris', str(e))
