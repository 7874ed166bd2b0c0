"""geoflows.failback.reprotect|start|report on the fake cloud: the sample
VNFs, taken over at lyon after a disaster, go back to paris."""

import json
import math

import hypothesis
from keystoneauth1 import exceptions as ksa_exc

from geoflows.actions import failback as failback_actions
from geoflows.actions import job as job_actions
from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import jobs
from geoflows import secrets
from geoflows.testing.fakecloud import base as fake_base
from tests.unit.actions import base as actions_base_test
from tests.unit.actions import test_takeover
from tests.unit import base
from tests.unit.plan.test_fuzz import budget

DISASTER = {'mode': 'disaster', 'confirm_primary_lost': True}
plan_data = test_takeover.plan_data


class FailbackActionTestCase(test_takeover.TakeoverActionTestCase):
    """Taken over at lyon (a disaster, paris fenced)."""

    def setUp(self):
        super().setUp()
        job = self.runner.start('takeover', self.plan, params=DISASTER)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.takeover_job = job

    def reprotect(self, task='t-reprotect', action='a-1', **inputs):
        inputs.setdefault('plan', self.data)
        return failback_actions.Reprotect(**inputs).run(
            actions_base_test.execution(task, action))

    def failback(self, task='t-failback', action='a-1', **inputs):
        inputs.setdefault('plan', self.data)
        inputs.setdefault('drain_time', 0)
        return failback_actions.Failback(**inputs).run(
            actions_base_test.execution(task, action))

    def sync(self, task='t-sync'):
        """The sync that follows, as the workbook starts it."""
        return job_actions.StartJob('sync', plan=self.data).run(
            actions_base_test.execution(task))

    def report(self, job_id, **inputs):
        return failback_actions.Report(job_id, **inputs).run(
            actions_base_test.execution())

    def jobs_of(self, operation):
        return [j.id for j in self.runner.list() if j.operation == operation]

    def state(self):
        return groups.get(self.runner.store, 'test', 'core')


class TestReprotect(FailbackActionTestCase):

    def test_reprotect_then_the_first_reverse_sync(self):
        started = self.reprotect()
        json.dumps(started)
        self.assertEqual((jobs.SUCCESS, 'reprotect'),
                         (started['state'], started['operation']), started)
        execution = actions_base_test.execution('t-reprotect').execution
        self.assertEqual(job_actions.job_id_for(
            execution, 'reprotect', self.plan, None), started['id'])
        state = self.state()
        self.assertEqual((groups.REPROTECTED, 'lyon', 'paris', 'lyon'),
                         (state.state, state.source_site, state.target_site,
                          state.serving_site))
        synced = self.sync()
        self.assertEqual((jobs.SUCCESS, 'sync'),
                         (synced['state'], synced['operation']), synced)
        back = checkpoints.latest(self.runner.store, 'test', 'core',
                                  source_site='lyon')
        self.assertEqual(checkpoints.checkpoint_id(synced['id']), back.id)
        self.assertEqual('paris', back.target_site)

    def test_a_retry_finds_its_job_although_the_group_is_reprotected(self):
        first = self.reprotect(action='a-1')
        again = self.reprotect(action='a-2')  # Mistral's retry
        self.assertEqual((first['id'], 1), (again['id'], again['attempts']))
        # Another task (another execution) is refused: nothing to do.
        other = self.reprotect(task='t-other')
        self.assertActionError(other, 'already (reprotected)',
                               'geoflows failback', kind='PreflightError')
        self.assertEqual([first['id']], self.jobs_of('reprotect'))

    def test_to_another_site_or_refused_before_any_job(self):
        for inputs, fragment in [
                ({'to': 'nowhere'}, "site 'nowhere' is not a site of plan "
                                    "'test'"),
                ({'to': 'lyon'}, 'site lyon serves group core: it cannot '
                                 'replicate to itself'),
                ({'groups': ['edge']}, "has no protection group 'edge'")]:
            self.assertActionError(self.reprotect(**inputs), fragment)
        self.assertEqual([], self.jobs_of('reprotect'))
        # Served by its primary (the takeover undone): nothing to reprotect.
        self.assertEqual(jobs.REVERTED, self.runner.revert(
            self.takeover_job.id).state)
        self.assertActionError(self.reprotect(),
                               'group core is served by its primary paris')
        self.assertEqual([], self.jobs_of('reprotect'))

    def test_a_failback_before_the_reprotect_is_refused(self):
        self.assertActionError(self.failback(),
                               'does not replicate back from a DR site',
                               'geoflows reprotect', kind='PreflightError')
        self.assertEqual([], self.jobs_of('failback'))


class ReprotectedTestCase(FailbackActionTestCase):
    """Reprotected and synced back, through the actions."""

    def setUp(self):
        super().setUp()
        self.assertEqual(jobs.SUCCESS, self.reprotect()['state'])
        self.assertEqual(jobs.SUCCESS, self.sync()['state'])


class TestFailback(ReprotectedTestCase):

    def test_origin_then_delink_then_forward_sync_and_report(self):
        origin = self.failback(stage='origin', task='t-origin')
        self.assertEqual((jobs.SUCCESS, 'failback'),
                         (origin['state'], origin['operation']), origin)
        report = self.report(origin['id'], plan_file='/etc/dr.yaml')
        json.dumps(report)
        self.assertEqual(
            (origin['id'], 'test', 'origin', jobs.SUCCESS, True, ['core'],
             [], []),
            (report['job'], report['plan'], report['stage'],
             report['state'], report['complete'], report['origin_checked'],
             report['origin_serves'], report['incomplete']))
        core = report['groups']['core']
        self.assertEqual(
            ('paris', 'lyon', True, False, groups.REPROTECTED, 'lyon',
             {'from': 'lyon', 'to': 'paris'}, None, {}),
            (core['origin'], core['dr'], core['origin_checked'],
             core['origin_serves'], core['protection'],
             core['serving_site'], core['replicates'], core['serving_at'],
             core['vnfs']))
        self.assertIn('delink_only: true', report['next'])
        self.assertIn('"geoflows failback --stage delink --plan /etc/dr.yaml '
                      'core"', report['next'])
        self.assertIn('"geoflows job revert %s"' % origin['id'],
                      report['next'])

        delink = self.failback(stage='delink', task='t-delink')
        self.assertEqual(jobs.SUCCESS, delink['state'], delink)
        self.assertNotEqual(origin['id'], delink['id'])
        report = self.report(delink['id'])
        json.dumps(report)
        self.assertEqual(('delink', True, ['core'], ['core'], [], None),
                         (report['stage'], report['complete'],
                          report['origin_checked'], report['origin_serves'],
                          report['incomplete'], report['next']))
        core = report['groups']['core']
        self.assertEqual((True, groups.PROTECTED, 'paris',
                          {'from': 'paris', 'to': 'lyon'}),
                         (core['origin_serves'], core['protection'],
                          core['serving_site'], core['replicates']))
        self.assertGreater(core['serving_at'], 0)
        self.assertGreaterEqual(core['seconds'], core['serving_at'])
        self.assertEqual({'hss', 'pgw', 'fw'}, set(core['vnfs']))
        for name, vnf in core['vnfs'].items():
            self.assertIsNone(vnf['origin_ready'], name)  # the origin job's
            self.assertLessEqual(vnf['drained'], core['serving_at'], name)
            self.assertGreaterEqual(vnf['standby_at'], core['serving_at'])
        self.assertEqual((1, 'hot'), (core['vnfs']['hss']['priority'],
                                      core['vnfs']['hss']['standby']))

        synced = self.sync(task='t-forward')
        self.assertEqual(jobs.SUCCESS, synced['state'], synced)
        self.assertEqual('paris', checkpoints.latest(
            self.runner.store, 'test', 'core').source_site)

    def test_all_in_one_job_and_a_retry_finds_it(self):
        first = self.failback(action='a-1')
        self.assertEqual(jobs.SUCCESS, first['state'], first)
        again = self.failback(action='a-2')  # Mistral's retry
        self.assertEqual((first['id'], 1), (again['id'], again['attempts']))
        other = self.failback(task='t-other')
        self.assertActionError(other, 'does not replicate back')
        self.assertEqual([first['id']], self.jobs_of('failback'))
        report = self.report(first['id'])
        self.assertEqual(('all', True, ['core'], None),
                         (report['stage'], report['complete'],
                          report['origin_serves'], report['next']))
        for name, vnf in report['groups']['core']['vnfs'].items():
            self.assertLessEqual(vnf['origin_ready'], vnf['drained'], name)

    def test_a_failed_vnf_is_a_partial_result_not_an_error(self):
        # The first server made at the origin (hss's, priority 1) fails:
        # hss is undone alone, pgw (which needs it) and the chain are
        # skipped, fw comes up; the origin is not checked.
        self.site('paris').fail('create_server', error=fake_base.http_error(
            400, 'no valid host (injected)'))
        started = self.failback(stage='origin')
        self.assertEqual(jobs.PARTIAL, started['state'], started)
        self.assertEqual(['core/hss'], list(started['result']['failed']))
        again = self.failback(stage='origin', action='a-2')  # not run again
        self.assertEqual((started['id'], 1), (again['id'],
                                              again['attempts']))
        report = self.report(started['id'])
        self.assertEqual((jobs.PARTIAL, False, [], ['core']),
                         (report['state'], report['complete'],
                          report['origin_checked'], report['incomplete']))
        self.assertEqual(['core/hss'], list(report['failed']))
        self.assertIn('core/pgw', report['skipped'])
        self.assertIn('core.origin', report['skipped'])
        self.assertIn('"geoflows job resume %s"' % started['id'],
                      report['next'])
        self.assertIn('"geoflows job revert %s" (the DR site keeps '
                      'serving)' % started['id'], report['next'])
        self.assertEqual('lyon', report['groups']['core']['serving_site'])

    def test_refused_before_any_job(self):
        paris = self.site('paris')
        [server] = [s for s in paris.compute.servers() if s.name == 'pgw-1']
        paris.compute.start_server(server.id)
        self.assertActionError(self.failback(),
                               'still run at paris: pgw-1 (ACTIVE)',
                               'protection fence', kind='PreflightError')
        paris.compute.stop_server(server.id)
        paris.fail('get_limits', times=1000,
                   error=ksa_exc.ConnectFailure('connection refused'))
        self.assertActionError(self.failback(stage='origin'),
                               'a failback needs the origin')
        self.assertActionError(self.failback(groups=['edge']),
                               "has no protection group 'edge'")
        self.assertEqual([], self.jobs_of('failback'))

    def test_report_refuses_other_jobs_and_unknown_ids(self):
        self.assertActionError(self.report(self.takeover_job.id),
                               'is a takeover job, not a failback')
        self.assertActionError(self.report('nope'), "no job 'nope'",
                               kind='JobNotFound')

    def test_secrets_never_appear(self):
        secret = 'Sup3r-s3cret-t0ken-value'
        secrets.register(secret)
        started = self.failback(stage='origin')
        self.runner.store.update_job(started['id'],
                                     error='refused token %s' % secret)
        text = json.dumps(self.report(started['id']))
        self.assertNotIn(secret, text)
        self.assertIn('***', text)


class TestBadInputs(actions_base_test.ActionTestCase):
    """Refused with a clear message before anything is read."""

    COMMON = [
        ({'groups': 'core'}, '"groups" must be a list of names'),
        ({'groups': ['Core!']}, '"groups"[0] must be the name'),
        ({'groups': ['x'] * 1001}, 'at most 1000'),
        ({'plan_file': 7, 'plan': None}, '"plan_file" must be'),
        ({'plan_file': 'x' * 5000, 'plan': None}, 'at most 4096'),
        ({'plan': None}, 'give the plan either inline'),
        ({'plan': 'version: 1\nname: [\n'}, 'is not a valid plan'),
        ({'plan': base.plan_data()}, 'defines no protection')]

    def assert_refused(self, action, cases):
        for inputs, fragment in cases:
            inputs = dict({'plan': plan_data()}, **inputs)
            result = action(**inputs).run(actions_base_test.execution())
            error = self.assertActionError(result, fragment)
            self.assertLess(len(error['message']), 2000, inputs)
        self.assertEqual([], self.runner.list())

    def test_reprotect(self):
        self.assert_refused(failback_actions.Reprotect, self.COMMON + [
            ({'to': 7}, '"to" must be the name of a site'),
            ({'to': ['paris']}, '"to" must be the name of a site'),
            ({'to': 'Paris'}, '"to" must be the name of a site'),
            ({'to': 'x' * 100}, 'at most 32 characters'),
            ({'to': ''}, '"to" must be the name of a site'),
            ({'to': 'nowhere'}, "site 'nowhere' is not a site")])

    def test_failback(self):
        self.assert_refused(failback_actions.Failback, self.COMMON + [
            ({'stage': 'half'}, '"stage" must be origin'),
            ({'stage': None}, '"stage" must be origin'),
            ({'stage': ['origin']}, '"stage" must be origin'),
            ({'drain_time': -1}, '"drain_time" must be seconds from 0 to '
                                 '3600'),
            ({'drain_time': 3601}, '"drain_time" must be seconds'),
            ({'drain_time': 10 ** 30}, '"drain_time" must be seconds'),
            ({'drain_time': True}, '"drain_time" must be seconds'),
            ({'drain_time': '10'}, '"drain_time" must be seconds'),
            ({'drain_time': math.nan}, '"drain_time" must be seconds'),
            ({'drain_time': math.inf}, '"drain_time" must be seconds')])

    def test_report(self):
        for job_id, fragment in [
                (None, '"job_id" must be the id'), (7, '"job_id" must be'),
                ('', '"job_id" must be'), ('x' * 65, 'at most 64'),
                ('a\nb', '"job_id" must be')]:
            self.assertActionError(failback_actions.Report(job_id).run(None),
                                   fragment)
        self.assertActionError(failback_actions.Report(
            'j', plan_file=['p']).run(None), '"plan_file" must be')

    def test_attributes_stay_json_able(self):
        # A remote executor receives the action as vars(self).
        for action in (failback_actions.Reprotect(plan=plan_data(),
                                                  groups=['core'],
                                                  to='paris'),
                       failback_actions.Failback(plan_file='/p',
                                                 stage='origin',
                                                 drain_time=2.5),
                       failback_actions.Report('j', plan_file='/p')):
            self.assertEqual(vars(action),
                             json.loads(json.dumps(vars(action))))
        self.assertTrue(failback_actions.Reprotect().is_sync())
        self.assertTrue(failback_actions.Failback().is_sync())


VALUES = test_takeover.VALUES


class TestFuzzedInputs(actions_base_test.ActionTestCase):
    """Whatever the inputs: a clear action error (or a result).

    Never a traceback, an internal error or a secret, in bounded time.
    """

    def setUp(self):
        super().setUp()
        secrets.register('Sup3r-s3cret-t0ken-value')

    assert_clear = test_takeover.TestFuzzedInputs.assert_clear

    @hypothesis.given(groups=VALUES, to=VALUES, plan_file=VALUES)
    @budget(150)
    def test_reprotect(self, groups, to, plan_file):
        # No plan inline: inputs that pass every check meet the plan's.
        self.assert_clear(failback_actions.Reprotect(
            plan_file=plan_file, groups=groups, to=to).run(
                actions_base_test.execution()))

    @hypothesis.given(groups=VALUES, stage=VALUES, drain_time=VALUES,
                      plan=VALUES, plan_file=VALUES)
    @budget(150)
    def test_failback(self, groups, stage, drain_time, plan, plan_file):
        self.assert_clear(failback_actions.Failback(
            plan=plan, plan_file=plan_file, groups=groups, stage=stage,
            drain_time=drain_time).run(actions_base_test.execution()))

    @hypothesis.given(job_id=VALUES, plan_file=VALUES)
    @budget(150)
    def test_failback_report(self, job_id, plan_file):
        self.assert_clear(failback_actions.Report(
            job_id, plan_file=plan_file).run(None))
