"""The takeover workbook executed by a real Mistral, on the two regions.

The sample VNFs run at site-a (RegionOne); a group of one of them
(``hss``: hot, two servers with standbys at site-b, replicated by the
application, so that a sync takes seconds) is protected and synced with
the geoflows command, then taken over at site-b (RegionTwo) by the
``disaster`` workflow started with the Mistral guide's own commands: a
first execution is refused at the "declare disaster" decision and changes
nothing; the second is declared, fences the primary, takes the group over
from the newest checkpoint, verifies and reports.  The takeover's own
steps are tests/functional/test_takeover.py's; here Mistral drives it and
reads its outcome.
"""

import json
import os
import time

from geoflows.testing import sample
from tests.functional import base
from tests.functional import protection
from tests.functional import test_mistral
from tests.functional import test_mistral_protection

WORKBOOK = os.path.join(test_mistral.REPO, 'workbooks',
                        'geoflows.takeover.v1.yaml')

# The hot group of the protection workbook's test: two servers with
# standbys, replicated by the application.
GROUP = test_mistral_protection.GROUP


class TestTakeoverOnMistral(test_mistral.GuideShell,
                            test_mistral.MistralTestCase,
                            protection.ProtectionTestCase):

    WORKBOOKS = (WORKBOOK,)
    WB = test_mistral.TAKEOVER_WB

    def setUp(self):
        super().setUp()
        self.plan_file = os.path.join(self.tmp, 'dr.yaml')
        with open(self.plan_file, 'w') as f:
            f.write('version: 1\nname: %s\n' % self.name)
            f.write(base.SITES % {'west_cloud': 'site-b'})
            f.write(GROUP % {'prefix': self.prefix})

    def servers(self, cloud):
        names = {self.prefix + 'hss-1', self.prefix + 'hss-2'}
        return {s.name: s.status
                for s in self.connection(cloud).compute.servers()
                if s.name in names}

    def declare(self, execution_id, section, timeout=120):
        """The decision of ``section`` (approve or reject), as the guide."""
        approval = self.wait_for_action(execution_id, 'declare_disaster',
                                        timeout=timeout)
        task = self.task(execution_id, 'declare_disaster')
        found = self.shell('decision-find', EXECUTION_ID=execution_id,
                           TASK_EXECUTION_ID=task.id)
        self.assertIn(approval.id, found)
        self.shell(section, ACTION_EXECUTION_ID=approval.id)
        return approval

    def test_disaster_waits_for_the_decision_then_takes_over(self):
        started = time.monotonic()
        # Only the group's servers: the sites' quotas are shared with the
        # other functional tests.
        self.deploy_sample(servers=('hss-1', 'hss-2'))
        # What the takeover makes at site-b carries the sample's names.
        self.addCleanup(sample.remove, self.connection('site-b'),
                        self.prefix)
        figures = {'deploy sample': self.deploy_seconds}
        step = time.monotonic()
        self.assertEqual('SUCCESS', self.run_job(
            'protect', '--plan', self.plan_file)['state'])
        sync = self.run_job('sync', '--plan', self.plan_file)
        self.assertEqual('SUCCESS', sync['state'], sync['error'])
        figures['protect and sync (command)'] = time.monotonic() - step
        primary = self.servers('site-a')
        self.assertEqual({'ACTIVE'}, set(primary.values()), primary)
        jobs_before = [j['ID'] for j in self.jobs_of_plan()]

        # Refused: the execution ends, nothing was changed.
        step = time.monotonic()
        refused = self.execution_id(self.shell('takeover-disaster'))
        self.declare(refused, 'decision-reject')
        refused = self.wait(refused)
        figures['refused: start to ERROR'] = time.monotonic() - step
        self.assertEqual('ERROR', refused.state)
        self.assertIn('disaster takeover of plan %s not declared: not during '
                      'the maintenance freeze (nothing was changed)'
                      % self.name, refused.state_info)
        self.assertIsNone(self.task(refused.id, 'take_over'))
        self.assertEqual(jobs_before, [j['ID'] for j in self.jobs_of_plan()])
        self.assertEqual(primary, self.servers('site-a'))

        # Declared: fence, take over, verify, report.
        step = time.monotonic()
        execution = self.execution_id(self.shell('takeover-disaster'))
        self.wait_for_action(execution, 'declare_disaster', timeout=120)
        time.sleep(2)  # nothing starts while the decision is pending
        self.assertEqual('RUNNING',
                         self.client.executions.get(execution).state)
        self.assertEqual(jobs_before, [j['ID'] for j in self.jobs_of_plan()])
        figures['until the decision'] = time.monotonic() - step
        step = time.monotonic()
        self.declare(execution, 'decision-approve')
        done = self.wait(execution, timeout=600)
        figures['declared to SUCCESS'] = time.monotonic() - step
        self.assertEqual('SUCCESS', done.state, done.state_info)
        out = done.output_data
        report = out['report']
        job_id = out['job_id']
        self.assertEqual((job_id, 'disaster', 'SUCCESS', True),
                         (report['job'], report['mode'], report['state'],
                          report['complete']), report)
        # Fenced: the primary answered; its servers were stopped.
        self.assertEqual('fenced', out['fence']['core']['state'], out)
        self.assertEqual([], out['not_fenced'])
        self.assertEqual({'SHUTOFF'}, set(self.servers('site-a').values()))
        # The VNF runs at site-b, as the checkpoint says.
        self.assertEqual({'ACTIVE'}, set(self.servers('site-b').values()))
        self.assertEqual(2, len(self.servers('site-b')))
        core = report['groups']['core']
        self.assertEqual(('west', True), (core['serving_site'],
                                          core['taken_over']))
        self.assertTrue(out['verify']['clean'], out['verify'])
        self.assertEqual([], out['verify']['groups']['core']['differences'])
        # RPO and RTO per VNF.
        hss = core['vnfs']['hss']
        self.assertTrue(hss['ready'], hss)
        self.assertGreater(hss['rpo'], 0)
        self.assertGreater(hss['rto'], 0)
        self.assertEqual((600, 900), (hss['rpo_target'], hss['rto_target']))
        self.assertIsNone(out['next'])
        [listed] = [j for j in self.jobs_of_plan() if j['ID'] == job_id]
        self.assertTrue(listed['Owner'].startswith('mistral@'), listed)

        # The report again, by the job's id, from the guide.
        step = time.monotonic()
        again = self.wait(self.execution_id(self.shell(
            'takeover-report', JOB_ID=job_id)))
        figures['report workflow'] = time.monotonic() - step
        self.assertEqual('SUCCESS', again.state, again.state_info)
        self.assertEqual(hss, again.output_data['report']['groups']['core'][
            'vnfs']['hss'])
        self.assertEqual(set(test_mistral.TAKEOVER_SECTIONS) |
                         {'decision-find', 'decision-approve',
                          'decision-reject'}, self.sections_run)
        figures['test'] = time.monotonic() - started
        self.record(mistral_takeover=figures, client_seconds=self.timings,
                    vnfs=json.loads(json.dumps(core['vnfs'])))
