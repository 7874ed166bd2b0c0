"""geoflows.job.* actions on the fake cloud."""

import threading

from geoflows.actions import base as actions_base
from geoflows.actions import job as job_actions
from geoflows import jobs
from tests.unit.actions import base as actions_base_test
from tests.unit import base


class JobActionTestCase(actions_base_test.ActionTestCase):

    def setUp(self):
        super().setUp()
        self.initial = self.inventory()

    def start(self, operation='interconnect.setup', names=('vpn',),
              task='task-1', action='action-1', **inputs):
        inputs.setdefault('plan', base.plan_data())
        return job_actions.StartJob(
            operation, names=list(names) if names else None,
            **inputs).run(actions_base_test.execution(task, action))

    def jobs(self):
        return self.runner.list()


class TestStartJob(JobActionTestCase):

    def test_setup_returns_the_job_report(self):
        report = self.start()
        self.assertEqual(jobs.SUCCESS, report['state'])
        self.assertEqual('interconnect.setup', report['operation'])
        self.assertEqual('test', report['plan'])
        self.assertEqual(['vpn'], report['units'])
        self.assertEqual(8, report['result']['units']['vpn']['created'])
        self.assertEqual([report['id']], [j.id for j in self.jobs()])
        self.assertNotEqual(self.initial, self.inventory())

    def test_the_same_task_gets_its_job_back_not_a_second_one(self):
        first = self.start(action='action-1')
        again = self.start(action='action-2')  # Mistral's retry
        self.assertEqual(first['id'], again['id'])
        self.assertEqual(1, again['attempts'])  # not run again
        self.assertEqual(1, len(self.jobs()))

    def test_other_tasks_and_inputs_get_their_own_job(self):
        ids = {self.start(task='task-1')['id'],
               self.start(task='task-2')['id'],
               self.start(task='task-1', names=('cells',))['id']}
        self.assertEqual(3, len(ids))

    def test_a_retry_resumes_the_job_a_dead_executor_left_running(self):
        # The first attempt's process died mid-job: its job is RUNNING in
        # the store with a step that never finished.
        job_id = job_actions.job_id_for(
            actions_base_test.execution().execution, 'interconnect.setup',
            base.make_plan(), ['vpn'])
        self.runner.create('interconnect.setup', base.make_plan(), ['vpn'],
                           job_id=job_id)
        self.runner.store.update_job(job_id, state=jobs.RUNNING,
                                     attempts=1, owner='mistral@gone:1')
        report = self.start(action='action-2')
        self.assertEqual(job_id, report['id'])
        self.assertEqual(jobs.SUCCESS, report['state'])
        self.assertEqual(2, report['attempts'])
        self.assertEqual(1, len(self.jobs()))

    def test_a_failed_job_is_an_action_error_and_leaves_nothing(self):
        self.site('lyon').fail('create_bgpvpn_network_association')
        result = self.start()
        error = self.assertActionError(
            result, 'geoflows job', 'interconnect.setup of plan',
            'ended REVERTED', 'everything it did was undone', kind='JobFailed')
        self.assertEqual(jobs.REVERTED, error['job']['state'])
        self.assertEqual(self.initial, self.inventory())

    def test_a_retry_after_a_reverted_job_starts_a_new_one(self):
        self.site('lyon').fail('create_bgpvpn_network_association')
        failed = self.start(action='action-1').error['job']
        report = self.start(action='action-2')
        self.assertEqual(jobs.SUCCESS, report['state'])
        self.assertNotEqual(failed['id'], report['id'])
        again = self.start(action='action-3')
        self.assertEqual(report['id'], again['id'])

    def test_a_kept_failure_is_resumed_by_the_retry(self):
        self.site('lyon').fail('create_bgpvpn_network_association')
        error = self.start(keep_on_failure=True).error
        self.assertEqual(jobs.FAILED, error['job']['state'])
        self.assertIn('geoflows.job.resume', error['message'])
        report = self.start(action='action-2', keep_on_failure=True)
        self.assertEqual(error['job']['id'], report['id'])
        self.assertEqual(jobs.SUCCESS, report['state'])

    def test_bad_inputs(self):
        self.assertActionError(self.start(operation='reboot'),
                               "unknown operation 'reboot'",
                               'interconnect.setup')
        self.assertActionError(self.start(operation='takeover'),
                               'planned', 'disaster', 'say which')
        self.assertActionError(self.start(names=('nope',)),
                               "plan 'test' has no interconnect 'nope'")
        self.assertActionError(
            job_actions.StartJob('interconnect.setup', plan=base.plan_data(),
                                 names='vpn').run(
                actions_base_test.execution()), '"names" must be a list')
        self.assertEqual([], self.jobs())

    def test_a_bug_is_an_internal_error_not_a_traceback(self):
        self.patch(self.runner, 'run', lambda *a, **k: 1 / 0)
        self.assertActionError(
            self.start(), 'unexpected error in StartJob: ZeroDivisionError',
            kind='InternalError')

    def test_sync_unless_submitted(self):
        self.assertTrue(job_actions.StartJob('interconnect.setup').is_sync())
        self.assertFalse(job_actions.StartJob('interconnect.setup',
                                              submit=True).is_sync())

    def test_attributes_stay_json_able(self):
        # A remote executor receives the action as vars(self).
        import json
        action = job_actions.StartJob('interconnect.setup',
                                      plan=base.plan_data(), names=['vpn'])
        self.assertEqual(vars(action), json.loads(json.dumps(vars(action))))

    def test_outside_a_workflow_each_run_is_a_new_job(self):
        runs = [job_actions.StartJob('interconnect.check',
                                     plan=base.plan_data()).run(None)
                for _ in range(2)]
        self.assertNotEqual(runs[0]['id'], runs[1]['id'])

    def test_concurrent_retries_of_one_task_run_one_job(self):
        results = []

        def attempt(n):
            results.append(self.start(action='action-%d' % n))

        threads = [threading.Thread(target=attempt, args=(n,))
                   for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(1, len(self.jobs()))
        done = [r for r in results if isinstance(r, dict)]
        self.assertTrue(done, results)
        for r in results:  # the others were told the job is busy
            if not isinstance(r, dict):
                self.assertIn('running in another process',
                              r.error['message'])


class TestJobStatusResumeRevert(JobActionTestCase):

    def test_status_with_steps(self):
        report = self.start()
        status = job_actions.JobStatus(report['id'], steps=True).run(None)
        self.assertEqual(jobs.SUCCESS, status['state'])
        self.assertIn({'unit': 'vpn', 'name': 'local.bgpvpn',
                       'state': 'SUCCESS'}, status['steps'])
        self.assertNotIn('steps', job_actions.JobStatus(report['id']).run(
            None))

    def test_unknown_job(self):
        self.assertActionError(job_actions.JobStatus('nope').run(None),
                               "no job 'nope'", kind='JobNotFound')

    def test_revert_undoes_and_is_idempotent(self):
        report = self.start()
        reverted = job_actions.RevertJob(report['id']).run(None)
        self.assertEqual(jobs.REVERTED, reverted['state'])
        self.assertEqual(self.initial, self.inventory())
        self.assertEqual(reverted['id'],
                         job_actions.RevertJob(report['id']).run(None)['id'])

    def test_resume_finishes_a_kept_failure(self):
        self.site('lyon').fail('create_bgpvpn_network_association')
        job_id = self.start(keep_on_failure=True).error['job']['id']
        report = job_actions.ResumeJob(job_id).run(None)
        self.assertEqual(jobs.SUCCESS, report['state'])
        self.assertEqual(report, job_actions.ResumeJob(job_id).run(None))

    def test_resume_of_a_reverted_job_is_an_error(self):
        self.site('lyon').fail('create_bgpvpn_network_association')
        job_id = self.start().error['job']['id']
        self.assertActionError(job_actions.ResumeJob(job_id).run(None),
                               'nothing to resume', kind='JobError')


class TestRunnerFromConfiguration(base.TestCase):

    def test_the_runner_reads_geoflows_config_file(self):
        conf_file = '%s/geoflows.conf' % self.tmp
        with open(conf_file, 'w') as f:
            f.write('[DEFAULT]\nstate_dir = %s/state\n' % self.tmp)
        self.useFixture(__import__('fixtures').EnvironmentVariable(
            'GEOFLOWS_CONFIG_FILE', conf_file))
        actions_base.reset()
        self.addCleanup(actions_base.reset)
        runner = actions_base.runner()
        self.assertIn('%s/state' % self.tmp, runner.store.url)
        self.assertTrue(runner.owner.startswith('mistral@'))
        self.assertIs(runner, actions_base.runner())
