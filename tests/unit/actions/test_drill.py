"""geoflows.drill.start|cleanup|report|list on the fake cloud: the sample
VNFs, protected at lyon and synced, rehearsed there in an isolated copy
while paris serves them."""

import json
import math

import hypothesis

from geoflows.actions import drill as drill_actions
from geoflows.actions import job as job_actions
from geoflows.checkpoints import drills
from geoflows.checkpoints import groups
from geoflows import drill
from geoflows import jobs
from geoflows import secrets
from tests.unit.actions import base as actions_base_test
from tests.unit.actions import test_takeover
from tests.unit import base
from tests.unit.plan.test_fuzz import budget

plan_data = test_takeover.plan_data


class DrillActionTestCase(test_takeover.TakeoverActionTestCase):

    def drill(self, task='t-drill', action='a-1', **inputs):
        inputs.setdefault('plan', self.data)
        return drill_actions.Drill(**inputs).run(
            actions_base_test.execution(task, action))

    def cleanup(self, drill_id, task='t-cleanup', action='a-1'):
        return drill_actions.Cleanup(drill_id).run(
            actions_base_test.execution(task, action))

    def report(self, job_id, **inputs):
        return drill_actions.Report(job_id, **inputs).run(
            actions_base_test.execution())

    def listing(self, **inputs):
        return drill_actions.ListCopies(**inputs).run(
            actions_base_test.execution())

    def drilled_servers(self):
        """The servers at lyon that a drill's copy holds."""
        return [s.name for s in self.site('lyon').compute.servers()
                if ' drill=' in (s.metadata or {}).get('geoflows', '')]

    def params(self, started):
        return self.runner.get(started['id']).spec.get('params')

    def jobs_of(self, operation):
        return [j.id for j in self.runner.list() if j.operation == operation]


class TestDrill(DrillActionTestCase):

    def test_drill_report_and_nothing_left(self):
        started = self.drill()
        json.dumps(started)
        self.assertEqual((jobs.SUCCESS, 'drill'),
                         (started['state'], started['operation']), started)
        execution = actions_base_test.execution('t-drill').execution
        self.assertEqual(job_actions.job_id_for(
            execution, 'drill', self.plan, None), started['id'])
        report = self.report(started['id'], plan_file='/etc/dr.yaml')
        json.dumps(report)
        self.assertEqual(
            (started['id'], 'test', jobs.SUCCESS, True, None, [], [], [],
             [], None, None),
            (report['job'], report['plan'], report['state'],
             report['complete'], report['keep_for'], report['not_ready'],
             report['rto_missed'], report['differing'], report['kept'],
             report['cleanup'], report['next']))
        core = report['groups']['core']
        self.assertEqual(('lyon', self.checkpoint.id, drills.REMOVED, None),
                         (core['site'], core['checkpoint'], core['copy'],
                          core['kept_until']))
        self.assertEqual({'clean': True, 'differences': [], 'error': None},
                         core['verify'])
        self.assertEqual({'hss', 'pgw', 'fw'}, set(core['vnfs']))
        for name, vnf in core['vnfs'].items():
            self.assertTrue(vnf['ready'], name)
            self.assertGreater(vnf['rto'], 0, name)
            self.assertGreater(vnf['rpo'], 0, name)
            self.assertEqual((900, True, 600), (
                vnf['rto_target'], vnf['rto_met'], vnf['rpo_target']), name)
        # Nothing of the copy is left; the group is served as before.
        self.assertEqual([], self.drilled_servers())
        self.assertEqual({'copies': [], 'count': 0, 'drills': []},
                         self.listing())
        self.assertEqual(groups.PROTECTED, groups.get(
            self.runner.store, 'test', 'core').state)

    def test_a_kept_copy_then_its_cleanup(self):
        started = self.drill(keep_for=600)
        self.assertEqual(jobs.SUCCESS, started['state'], started)
        self.assertEqual({'keep_for': 600}, self.params(started))
        self.assertTrue(self.drilled_servers())
        report = self.report(started['id'])
        self.assertEqual((True, 600, ['core']), (
            report['complete'], report['keep_for'], report['kept']))
        self.assertEqual({'workflow': 'geoflows.drill.v1.cleanup',
                          'input': {'drill': started['id']},
                          'command': 'geoflows drill cleanup %s'
                                     % started['id']}, report['cleanup'])
        self.assertIn('"geoflows drill cleanup %s"' % started['id'],
                      report['next'])
        core = report['groups']['core']
        self.assertEqual(drills.PRESENT, core['copy'])
        self.assertTrue(core['kept_until'])
        listed = self.listing()
        json.dumps(listed)
        self.assertEqual((1, [started['id']]), (listed['count'],
                                                listed['drills']))
        [row] = listed['copies']
        self.assertEqual(
            (started['id'], 'test', 'core', 'lyon', drills.PRESENT, True),
            (row['drill'], row['plan'], row['group'], row['site'],
             row['state'], row['verify']))
        self.assertGreaterEqual(row['age'], 0)
        self.assertLess(row['age'], 600)
        by_drill = self.listing(drill=started['id'][:8], plan_name='test')
        self.assertEqual([started['id']], [c['drill']
                                           for c in by_drill['copies']])
        self.assertEqual(0, self.listing(plan_name='other')['count'])

        # The cleanup, by a prefix of the drill's id; a retry finds it.
        cleaned = self.cleanup(started['id'][:8])
        json.dumps(cleaned)
        self.assertEqual((jobs.SUCCESS, 'drill.cleanup', started['id']),
                         (cleaned['state'], cleaned['operation'],
                          cleaned['drill']), cleaned)
        self.assertEqual([], self.drilled_servers())
        self.assertEqual(0, self.listing()['count'])
        again = self.cleanup(started['id'][:8], action='a-2')
        self.assertEqual((cleaned['id'], jobs.SUCCESS),
                         (again['id'], again['state']))
        self.assertEqual([cleaned['id']], self.jobs_of('drill.cleanup'))
        # Another task: nothing left to remove.
        self.assertActionError(self.cleanup(started['id'], task='t-other'),
                               'has no copy left to remove')
        removed = self.listing(include_removed=True)
        self.assertEqual([drills.REMOVED], [c['state']
                                            for c in removed['copies']])
        report = self.report(started['id'])
        self.assertEqual(([], None, None), (report['kept'],
                                            report['cleanup'],
                                            report['next']))

    def test_keep_is_the_longest_allowed(self):
        self.runner.options['drill_max_keep'] = 3600
        started = self.drill(keep=True)
        self.assertEqual({'keep_for': 3600}, self.params(started))
        self.assertEqual(jobs.SUCCESS, self.cleanup(started['id'])['state'])
        refused = self.drill(task='t-long', keep_for=3601)
        self.assertActionError(refused, '"keep_for" must be the seconds',
                               'from 1 to 3600')

    def test_a_retry_finds_its_job(self):
        first = self.drill(action='a-1')
        again = self.drill(action='a-2')  # Mistral's retry
        self.assertEqual((first['id'], 1), (again['id'], again['attempts']))
        self.assertEqual([first['id']], self.jobs_of('drill'))

    def test_a_failed_vnf_is_a_partial_result_not_an_error(self):
        self.site('lyon').fail_builds(times=20, name='fw-1')
        started = self.drill()
        self.assertEqual(jobs.PARTIAL, started['state'], started)
        report = self.report(started['id'], plan_file='/etc/dr.yaml')
        self.assertEqual((jobs.PARTIAL, False, ['core/fw'], []), (
            report['state'], report['complete'], report['not_ready'],
            report['kept']))
        self.assertIn('core/fw', report['failed'])
        self.assertFalse(report['groups']['core']['vnfs']['fw']['ready'])
        self.assertIn('"geoflows drill --plan /etc/dr.yaml"',
                      report['next'])
        self.assertEqual([], self.drilled_servers())

    def test_a_failed_removal_says_how_to_finish_it(self):
        self.site('lyon').fail('delete_server', times=1)
        started = self.drill()
        self.assertEqual(jobs.PARTIAL, started['state'], started)
        report = self.report(started['id'])
        self.assertEqual((False, ['core']), (report['complete'],
                                             report['kept']))
        self.assertIn('"geoflows job resume %s"' % started['id'],
                      report['next'])
        self.assertNotIn('drill cleanup', report['next'])

    def test_refused_before_any_job(self):
        job = self.runner.start('takeover', self.plan, params={
            'mode': 'disaster', 'confirm_primary_lost': True})
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.assertActionError(self.drill(), 'a drill rehearses the takeover '
                               'of a group its primary serves',
                               kind='PreflightError')
        self.assertActionError(self.drill(groups=['edge']),
                               "has no protection group 'edge'")
        self.assertEqual([], self.jobs_of('drill'))

    def test_cleanup_refuses_what_is_not_a_drill(self):
        self.assertActionError(self.cleanup('0000aaaa'),
                               'drill 0000aaaa has no copy left',
                               'no drill of that id made one')
        sync = [j for j in self.runner.list() if j.operation == 'sync'][0]
        self.assertActionError(self.cleanup(sync.id),
                               'is a sync, not a drill')
        self.assertEqual([], self.jobs_of('drill.cleanup'))

    def test_report_refuses_other_jobs_and_unknown_ids(self):
        sync = [j for j in self.runner.list() if j.operation == 'sync'][0]
        self.assertActionError(self.report(sync.id),
                               'is a sync job, not a drill')
        self.assertActionError(self.report('nope'), "no job 'nope'",
                               kind='JobNotFound')

    def test_secrets_never_appear(self):
        secret = 'Sup3r-s3cret-t0ken-value'
        secrets.register(secret)
        started = self.drill()
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

    def test_drill(self):
        for inputs, fragment in self.COMMON + [
                ({'keep': 'yes'}, '"keep" must be true or false'),
                ({'keep': None}, '"keep" must be true or false'),
                ({'keep_for': 0}, '"keep_for" must be the seconds'),
                ({'keep_for': -1}, '"keep_for" must be the seconds'),
                ({'keep_for': 0.5}, '"keep_for" must be the seconds'),
                ({'keep_for': 30 * 86400 + 1}, 'from 1 to 2592000'),
                ({'keep_for': 10 ** 30}, '"keep_for" must be'),
                ({'keep_for': True}, '"keep_for" must be'),
                ({'keep_for': '600'}, '"keep_for" must be'),
                ({'keep_for': [600]}, '"keep_for" must be'),
                ({'keep_for': math.nan}, '"keep_for" must be'),
                ({'keep_for': math.inf}, '"keep_for" must be')]:
            inputs = dict({'plan': plan_data()}, **inputs)
            result = drill_actions.Drill(**inputs).run(
                actions_base_test.execution())
            error = self.assertActionError(result, fragment)
            self.assertLess(len(error['message']), 2000, inputs)
        self.assertEqual([], self.runner.list())

    def test_cleanup(self):
        for value in (None, 7, '', 'abc', 'x' * 37, 'ABCDEF12', 'ab\ncd',
                      '../../etc', ['abcd'], 'a' * 37):
            self.assertActionError(drill_actions.Cleanup(value).run(None),
                                   '"drill" must be the id of a drill job')
        self.assertEqual([], self.runner.list())

    def test_list(self):
        for inputs, fragment in [
                ({'plan_name': 'Bad!'}, '"plan_name" must be the name'),
                ({'plan_name': 7}, '"plan_name" must be the name'),
                ({'drill': 'xyz'}, '"drill" must be the id'),
                ({'drill': 12345}, '"drill" must be the id'),
                ({'include_removed': 'no'}, '"include_removed" must be')]:
            self.assertActionError(
                drill_actions.ListCopies(**inputs).run(None), fragment)

    def test_report(self):
        for job_id, fragment in [
                (None, '"job_id" must be the id'), (7, '"job_id" must be'),
                ('', '"job_id" must be'), ('x' * 65, 'at most 64'),
                ('a\nb', '"job_id" must be')]:
            self.assertActionError(drill_actions.Report(job_id).run(None),
                                   fragment)

    def test_attributes_stay_json_able(self):
        # A remote executor receives the action as vars(self).
        for action in (drill_actions.Drill(plan=plan_data(),
                                           groups=['core'], keep=True,
                                           keep_for=60.5),
                       drill_actions.Cleanup('abcd1234'),
                       drill_actions.ListCopies('test', 'abcd', True),
                       drill_actions.Report('j', plan_file='/p')):
            self.assertEqual(vars(action),
                             json.loads(json.dumps(vars(action))))
        self.assertTrue(drill_actions.Drill().is_sync())


VALUES = test_takeover.VALUES


class TestFuzzedInputs(actions_base_test.ActionTestCase):
    """Whatever the inputs: a clear action error (or a result).

    Never a traceback, an internal error or a secret, in bounded time.
    """

    def setUp(self):
        super().setUp()
        secrets.register('Sup3r-s3cret-t0ken-value')

    assert_clear = test_takeover.TestFuzzedInputs.assert_clear

    @hypothesis.given(groups=VALUES, keep=VALUES, keep_for=VALUES,
                      plan=VALUES, plan_file=VALUES)
    @budget(150)
    def test_drill(self, groups, keep, keep_for, plan, plan_file):
        self.assert_clear(drill_actions.Drill(
            plan=plan, plan_file=plan_file, groups=groups, keep=keep,
            keep_for=keep_for).run(actions_base_test.execution()))

    @hypothesis.given(drill_id=VALUES)
    @budget(150)
    def test_cleanup(self, drill_id):
        self.assert_clear(drill_actions.Cleanup(drill_id).run(
            actions_base_test.execution()))

    @hypothesis.given(plan_name=VALUES, drill_id=VALUES, removed=VALUES)
    @budget(150)
    def test_list(self, plan_name, drill_id, removed):
        self.assert_clear(drill_actions.ListCopies(
            plan_name, drill_id, removed).run(None))

    @hypothesis.given(job_id=VALUES, plan_file=VALUES)
    @budget(150)
    def test_report(self, job_id, plan_file):
        self.assert_clear(drill_actions.Report(
            job_id, plan_file=plan_file).run(None))


class TestAPI(base.TestCase):

    def test_the_bounds_are_those_of_the_drill_command(self):
        from geoflows.cmd import drill as drill_cmd
        self.assertEqual(drill_cmd._MAX_KEEP_SECONDS,
                         drill_actions.MAX_KEEP_SECONDS)
        self.assertEqual(drill.DEFAULT_MAX_KEEP,
                         drill_actions.max_keep(type(
                             'R', (), {'options': {}})()))
