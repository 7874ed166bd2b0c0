"""geoflows.takeover.start|verify|report on the fake cloud: the sample
VNFs, protected at lyon and synced, taken over there."""

import json

import hypothesis
from hypothesis import strategies as st
from keystoneauth1 import exceptions as ksa_exc
import yaml

from geoflows.actions import job as job_actions
from geoflows.actions import takeover as takeover_actions
from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import jobs
from geoflows import secrets
from geoflows.testing import sample
from tests.unit.actions import base as actions_base_test
from tests.unit import base
from tests.unit.plan.test_fuzz import budget


def plan_data(extra_vnf=False):
    data = base.plan_data()
    data.update(yaml.safe_load(sample.group_yaml(
        primary='paris', dr='lyon', interconnect='vpn')))
    if extra_vnf:  # lb needs the cold firewall: skipped when it fails
        vnfs = data['protection_groups'][0]['vnfs']
        vnfs.append({'name': 'lb', 'priority': 3, 'standby': 'cold',
                     'depends_on': ['fw'], 'servers': ['fw-2']})
        vnfs[2]['servers'] = ['fw-1']
    return data


class TakeoverActionTestCase(actions_base_test.ActionTestCase):

    def setUp(self):
        super().setUp()
        self.ids = sample.deploy(self.site('paris'))
        self.data = plan_data()
        self.plan = base.make_plan(self.data)
        for operation, names in (('interconnect.setup', ['vpn']),
                                 ('protect', None), ('sync', None)):
            job = self.runner.start(operation, self.plan, names)
            self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.checkpoint = checkpoints.latest(self.runner.store, 'test',
                                             'core')

    def start(self, mode='disaster', task='t-takeover', action='a-1',
              **inputs):
        inputs.setdefault('plan', self.data)
        if mode == 'disaster':
            inputs.setdefault('confirm_primary_lost', True)
        return takeover_actions.Takeover(mode, **inputs).run(
            actions_base_test.execution(task, action))

    def verify(self, **inputs):
        inputs.setdefault('plan', self.data)
        return takeover_actions.Verify(**inputs).run(
            actions_base_test.execution())

    def report(self, job_id, **inputs):
        return takeover_actions.Report(job_id, **inputs).run(
            actions_base_test.execution())

    def takeovers(self):
        return [j for j in self.runner.list() if j.operation == 'takeover']


class TestDisaster(TakeoverActionTestCase):

    def test_take_over_verify_report(self):
        started = self.start()
        self.assertEqual((jobs.SUCCESS, 'takeover'),
                         (started['state'], started['operation']), started)
        execution = actions_base_test.execution('t-takeover').execution
        self.assertEqual(job_actions.job_id_for(
            execution, 'takeover', self.plan, None), started['id'])
        verified = self.verify()
        json.dumps(verified)
        self.assertEqual((True, 0), (verified['clean'],
                                     verified['differences']))
        core = verified['groups']['core']
        self.assertEqual(('lyon', self.checkpoint.id, [], 0),
                         (core['site'], core['checkpoint'],
                          core['differences'], core['more']))
        self.assertIn('taken over', core['scope'])

        report = self.report(started['id'], plan_file='/etc/dr.yaml')
        json.dumps(report)
        self.assertEqual((started['id'], 'test', 'disaster', jobs.SUCCESS,
                          True, [], [], None),
                         (report['job'], report['plan'], report['mode'],
                          report['state'], report['complete'],
                          report['not_ready'], report['not_fenced'],
                          report['next']))
        self.assertEqual(['core'], list(report['fence']))
        self.assertEqual(groups.FENCED, report['fence']['core']['state'])
        self.assertTrue(report['fence']['core']['detail'].startswith(
            'stopped 6 servers, took '), report['fence'])
        group = report['groups']['core']
        self.assertEqual((self.checkpoint.id, 'lyon', True, True),
                         (group['checkpoint'], group['serving_site'],
                          group['taken_over'], group['verify']['clean']))
        self.assertEqual({'hss', 'pgw', 'fw'}, set(group['vnfs']))
        for name, vnf in group['vnfs'].items():
            self.assertTrue(vnf['ready'], name)
            self.assertGreater(vnf['rpo'], 0)
            self.assertGreater(vnf['rto'], 0)
            self.assertEqual((600, 900, True), (
                vnf['rpo_target'], vnf['rto_target'], vnf['rto_met']))

    def test_a_retry_finds_its_job_although_the_group_is_taken_over(self):
        first = self.start(action='a-1')
        again = self.start(action='a-2')  # Mistral's retry
        self.assertEqual(first['id'], again['id'])
        self.assertEqual(1, again['attempts'])
        # Another task (another execution) is refused: nothing to do.
        other = self.start(task='t-other')
        self.assertActionError(other, 'group core already runs at site '
                               'lyon since takeover job %s' % first['id'],
                               kind='GeoflowsError')
        self.assertEqual([first['id']], [j.id for j in self.takeovers()])

    def test_a_primary_that_does_not_answer_is_not_fenced(self):
        self.site('paris').fail(
            'get_server', times=1000,
            error=ksa_exc.ConnectFailure('connection refused'))
        started = self.start()
        self.assertEqual(jobs.SUCCESS, started['state'])
        report = self.report(started['id'], plan_file='/etc/dr.yaml')
        self.assertEqual(['core'], report['not_fenced'])
        self.assertEqual(groups.NOT_FENCED, report['fence']['core']['state'])
        self.assertIn('could not be fenced',
                      report['fence']['core']['detail'])
        self.assertTrue(report['complete'])
        self.assertIn('"geoflows protection fence --plan /etc/dr.yaml '
                      'core"', report['next'])
        self.assertIn('--confirm-fenced', report['next'])

    def test_a_failed_vnf_is_a_partial_result_not_an_error(self):
        data = plan_data(extra_vnf=True)
        plan = base.make_plan(data)
        self.assertEqual(jobs.SUCCESS, self.runner.start('sync', plan).state)
        [image] = self.site('lyon').image.images()
        self.site('lyon').image.delete_image(image.id)
        started = self.start(plan=data)
        self.assertEqual(jobs.PARTIAL, started['state'], started)
        self.assertEqual(['core/fw'], list(started['result']['failed']))
        again = self.start(plan=data, action='a-2')  # not run again
        self.assertEqual((started['id'], 1), (again['id'],
                                              again['attempts']))
        report = self.report(started['id'])
        self.assertEqual((jobs.PARTIAL, False), (report['state'],
                                                 report['complete']))
        self.assertEqual(['core/fw'], list(report['failed']))
        self.assertEqual({'core/lb', 'core.chain.edge'},
                         set(report['skipped']))
        self.assertEqual(['core/fw', 'core/lb', 'core/pgw'],
                         sorted(report['not_ready']))
        self.assertTrue(report['groups']['core']['vnfs']['hss']['ready'])
        self.assertIn('resume workflow with job_id %s' % started['id'],
                      report['next'])
        self.assertIn('"geoflows job resume %s"' % started['id'],
                      report['next'])
        verified = self.verify(plan=data)
        self.assertFalse(verified['clean'])
        self.assertGreater(verified['differences'], 0)

    def test_refused_before_any_job(self):
        for inputs, fragment in [
                ({'confirm_primary_lost': False},
                 'confirm that the primary is lost'),
                ({'mode': 'planned', 'confirm_primary_lost': True},
                 'a planned takeover needs the primary'),
                ({'mode': 'planned', 'checkpoint': 'abcd1234'},
                 'makes its own checkpoint'),
                ({'groups': ['edge']}, "has no protection group 'edge'"),
                ({'checkpoint': 'feedbeef'}, "no checkpoint 'feedbeef'")]:
            self.assertActionError(self.start(**inputs), fragment)
        self.assertEqual([], self.takeovers())

    def test_from_a_given_checkpoint(self):
        newer = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.SUCCESS, newer.state)
        started = self.start(checkpoint=self.checkpoint.id[:8].upper())
        self.assertEqual(jobs.SUCCESS, started['state'])
        report = self.report(started['id'])
        self.assertEqual(self.checkpoint.id,
                         report['groups']['core']['checkpoint'])


class TestFence(TakeoverActionTestCase):

    def fence(self, groups=('core',), **inputs):
        inputs.setdefault('plan', self.data)
        return takeover_actions.Fence(list(groups), **inputs).run(
            actions_base_test.execution())

    def test_fence_again_once_the_primary_answers(self):
        paris = self.site('paris')
        paris.fail('get_server', times=1000,
                   error=ksa_exc.ConnectFailure('connection refused'))
        self.assertEqual(jobs.SUCCESS, self.start()['state'])
        still = self.fence()
        self.assertEqual(['core'], still['not_fenced'])
        self.assertIsNotNone(still['job'])
        with paris.lock:
            paris._faults.clear()
        fenced = self.fence()
        json.dumps(fenced)
        self.assertEqual([], fenced['not_fenced'])
        self.assertEqual(groups.FENCED, fenced['groups']['core']['fence'])
        self.assertIn('stopped 6 servers',
                      fenced['groups']['core']['detail'])
        self.assertEqual('fence', self.runner.get(fenced['job']).operation)

    def test_confirmed_by_the_operator_without_a_job(self):
        self.site('paris').fail(
            'get_server', times=1000,
            error=ksa_exc.ConnectFailure('connection refused'))
        self.start()
        confirmed = self.fence(confirm_fenced=True)
        self.assertEqual((None, []), (confirmed['job'],
                                      confirmed['not_fenced']))
        self.assertIn('confirmed fenced by the operator',
                      confirmed['groups']['core']['detail'])

    def test_refused(self):
        # Served by its primary: fencing would stop the service.
        self.assertActionError(self.fence(), 'group core is served by its '
                               'primary paris')
        for groups_input, fragment in (
                ([], '"groups" must name the groups to fence'),
                (['Core'], '"groups"[0] must be the name'),
                (['edge'], "has no protection group 'edge'")):
            self.assertActionError(self.fence(groups_input), fragment)
        self.assertActionError(self.fence(confirm_fenced='yes'),
                               '"confirm_fenced" must be true or false')
        self.assertActionError(takeover_actions.Fence(None).run(None),
                               '"groups" must name the groups')
        self.assertEqual([], [j for j in self.runner.list()
                              if j.operation == 'fence'])


class TestPlanned(TakeoverActionTestCase):

    def test_nothing_is_lost(self):
        started = self.start('planned')
        self.assertEqual(jobs.SUCCESS, started['state'], started)
        report = self.report(started['id'])
        self.assertEqual(('planned', True), (report['mode'],
                                             report['complete']))
        for vnf in report['groups']['core']['vnfs'].values():
            self.assertEqual(0.0, vnf['rpo'])
        # Planned: no fencing; the primary's VNFs were stopped.
        self.assertEqual([], report['not_fenced'])


class TestReportAndVerifyInputs(TakeoverActionTestCase):

    def test_report_refuses_other_jobs_and_unknown_ids(self):
        [sync] = [j for j in self.runner.list() if j.operation == 'sync']
        self.assertActionError(self.report(sync.id),
                               'is a sync job, not a takeover')
        self.assertActionError(self.report('nope'), "no job 'nope'",
                               kind='JobNotFound')

    def test_verify_before_a_takeover_compares_the_standbys(self):
        verified = self.verify()
        self.assertTrue(verified['clean'], verified)
        self.assertIn('before a takeover', verified['groups']['core'][
            'scope'])

    def test_many_differences_are_bounded(self):
        self.patch(takeover_actions.takeover, 'verify',
                   lambda *a: [{'group': 'core', 'site': 'lyon',
                                'scope': 's', 'checkpoint': 'c',
                                'differences': ['x' * 5000] * 1000}])
        verified = self.verify()
        core = verified['groups']['core']
        self.assertEqual((1000, 800, 200),
                         (verified['differences'], core['more'],
                          len(core['differences'])))
        self.assertEqual(takeover_actions.TEXT_CHARS,
                         len(core['differences'][0]))

    def test_secrets_never_appear(self):
        secret = 'Sup3r-s3cret-t0ken-value'
        secrets.register(secret)
        started = self.start()
        groups.record_fence(self.runner.store, 'test', 'core',
                            groups.NOT_FENCED, 'refused token %s' % secret,
                            'paris', 'lyon')
        text = json.dumps(self.report(started['id']))
        self.assertNotIn(secret, text)
        self.assertIn('***', text)


class TestBadInputs(actions_base_test.ActionTestCase):
    """Refused with a clear message before anything is read."""

    def test_takeover(self):
        data = plan_data()
        for inputs, fragment in [
                ({'mode': 'both'}, '"mode" must be planned'),
                ({'mode': None}, '"mode" must be planned'),
                ({'mode': ['disaster']}, '"mode" must be planned'),
                ({'groups': 'core'}, '"groups" must be a list of names'),
                ({'groups': ['Core!']}, '"groups"[0] must be the name'),
                ({'groups': ['x'] * 1001}, 'at most 1000'),
                ({'confirm_primary_lost': 'yes'},
                 '"confirm_primary_lost" must be true or false'),
                ({'checkpoint': 12345678}, '"checkpoint" must be a '
                                           'checkpoint id'),
                ({'checkpoint': 'a' * 65}, 'at most 64 characters'),
                ({'checkpoint': 'zz'}, 'is not a checkpoint id'),
                ({'plan_file': 7, 'plan': None}, '"plan_file" must be'),
                ({'plan_file': 'x' * 5000, 'plan': None}, 'at most 4096'),
                ({'plan': None}, 'give the plan either inline'),
                ({'plan': 'version: 1\nname: [\n'}, 'is not a valid plan'),
                ({'plan': base.plan_data()}, 'defines no protection')]:
            inputs = dict({'mode': 'disaster', 'plan': data,
                           'confirm_primary_lost': True}, **inputs)
            mode = inputs.pop('mode')
            result = takeover_actions.Takeover(mode, **inputs).run(
                actions_base_test.execution())
            error = self.assertActionError(result, fragment)
            self.assertLess(len(error['message']), 2000, inputs)
        self.assertEqual([], self.runner.list())

    def test_verify_and_report(self):
        for inputs, fragment in [
                ({'groups': {'core': 1}}, '"groups" must be a list'),
                ({'checkpoint': ['abcd']}, '"checkpoint" must be'),
                ({'plan': None, 'plan_file': ''}, '"plan_file" must be')]:
            inputs = dict({'plan': plan_data()}, **inputs)
            self.assertActionError(takeover_actions.Verify(**inputs).run(
                None), fragment)
        for job_id, fragment in [
                (None, '"job_id" must be the id'), (7, '"job_id" must be'),
                ('', '"job_id" must be'), ('x' * 65, 'at most 64'),
                ('a\nb', '"job_id" must be')]:
            self.assertActionError(takeover_actions.Report(job_id).run(None),
                                   fragment)
        self.assertActionError(takeover_actions.Report(
            'j', plan_file=['p']).run(None), '"plan_file" must be')

    def test_attributes_stay_json_able(self):
        # A remote executor receives the action as vars(self).
        for action in (takeover_actions.Takeover('disaster',
                                                 plan=plan_data(),
                                                 groups=['core']),
                       takeover_actions.Verify(plan_file='/p'),
                       takeover_actions.Fence(['core'], plan_file='/p'),
                       takeover_actions.Report('j')):
            self.assertEqual(vars(action),
                             json.loads(json.dumps(vars(action))))
        self.assertTrue(takeover_actions.Takeover('planned').is_sync())


# What a workflow's input may hold: anything JSON, hostile text too.
HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(-10 ** 20, 10 ** 20),
    st.floats(allow_nan=True), st.sampled_from(
        ['', 'disaster', 'planned', 'core', 'Core', 'abcd', 'ABCD1234',
         'x' * 5000, '\x00', '\u202e', '\ud800', '../../etc/passwd',
         '%(secret)s', 'Sup3r-s3cret-t0ken-value']),
    st.text(max_size=80))
VALUES = st.recursive(HOSTILE, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
KINDS = {'GeoflowsError', 'PlanError', 'JobNotFound'}


class TestFuzzedInputs(actions_base_test.ActionTestCase):
    """Whatever the inputs: a clear action error (or a result).

    Never a traceback, an internal error or a secret, in bounded time.
    """

    def setUp(self):
        super().setUp()
        secrets.register('Sup3r-s3cret-t0ken-value')

    def assert_clear(self, result):
        if isinstance(result, dict):
            json.dumps(result)
            return
        self.assertTrue(result.is_error(), result)
        error = result.error
        self.assertIn(error['kind'], KINDS, error)
        self.assertIsInstance(error['message'], str)
        self.assertLess(len(error['message']), 2000)
        self.assertNotIn('Sup3r-s3cret-t0ken-value', error['message'])

    @hypothesis.given(mode=VALUES, groups=VALUES, confirm=VALUES,
                      checkpoint=VALUES, plan_file=VALUES)
    @budget(150)
    def test_takeover(self, mode, groups, confirm, checkpoint, plan_file):
        # No plan inline: inputs that pass every check meet the plan's.
        self.assert_clear(takeover_actions.Takeover(
            mode, plan_file=plan_file, groups=groups,
            confirm_primary_lost=confirm, checkpoint=checkpoint).run(
                actions_base_test.execution()))

    @hypothesis.given(groups=VALUES, checkpoint=VALUES, plan=VALUES,
                      plan_file=VALUES)
    @budget(150)
    def test_verify(self, groups, checkpoint, plan, plan_file):
        self.assert_clear(takeover_actions.Verify(
            plan=plan, plan_file=plan_file, groups=groups,
            checkpoint=checkpoint).run(None))

    @hypothesis.given(groups=VALUES, confirm=VALUES, plan=VALUES,
                      plan_file=VALUES)
    @budget(150)
    def test_fence(self, groups, confirm, plan, plan_file):
        self.assert_clear(takeover_actions.Fence(
            groups, plan=plan, plan_file=plan_file,
            confirm_fenced=confirm).run(None))

    @hypothesis.given(job_id=VALUES, plan_file=VALUES)
    @budget(150)
    def test_report(self, job_id, plan_file):
        self.assert_clear(takeover_actions.Report(
            job_id, plan_file=plan_file).run(None))
