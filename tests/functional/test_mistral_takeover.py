"""The takeover and failback workbooks executed by a real Mistral.

The sample VNFs run at site-a (RegionOne); a group of one of them
(``hss``: hot, two servers with standbys at site-b, replicated by the
application, so that a sync takes seconds) is protected and synced with
the geoflows command, then taken over at site-b (RegionTwo) by the
``disaster`` workflow started with the Mistral guide's own commands: a
first execution is refused at the "declare disaster" decision and changes
nothing; the second is declared, fences the primary, takes the group over
from the newest checkpoint, verifies and reports.  Then, on what the
takeover left (no setup of its own), the failback workbook gives the
group back: ``reprotect`` (site-b replicates to site-a, a first reverse
sync), ``failback`` up to the "approve de-link" decision, which the test
refuses (site-b still serves, site-a is built and checked), then
``failback`` again with ``delink_only``, approved: the de-link, the first
forward sync and the report.  The jobs' own steps are the takeover and
failback functional tests'; here Mistral drives them and reads their
outcome.  Another test drills the group (the drill workbook, from the
guide's commands): an isolated copy kept at site-b, reported, then
removed by the ``cleanup`` workflow with nothing of it left.
"""

import json
import os
import time

from geoflows import checkpoints
from geoflows.checkpoints import drills
from geoflows.checkpoints import groups
from geoflows import store as store_mod
from geoflows.testing import sample
from tests.functional import base
from tests.functional import protection
from tests.functional import test_mistral
from tests.functional import test_mistral_protection

WORKBOOK = os.path.join(test_mistral.REPO, 'workbooks',
                        'geoflows.takeover.v1.yaml')
FAILBACK_WORKBOOK = os.path.join(test_mistral.REPO, 'workbooks',
                                 'geoflows.failback.v1.yaml')
FAILBACK_WB = 'geoflows.failback.v1'
DRILL_WORKBOOK = os.path.join(test_mistral.REPO, 'workbooks',
                              'geoflows.drill.v1.yaml')

# The hot group of the protection workbook's test: two servers with
# standbys, replicated by the application.
GROUP = test_mistral_protection.GROUP


class TestTakeoverOnMistral(test_mistral.GuideShell,
                            test_mistral.MistralTestCase,
                            protection.ProtectionTestCase):

    WORKBOOKS = (WORKBOOK, FAILBACK_WORKBOOK, DRILL_WORKBOOK)
    WB = test_mistral.TAKEOVER_WB

    def setUp(self):
        super().setUp()
        self.plan_file = os.path.join(self.tmp, 'dr.yaml')
        with open(self.plan_file, 'w') as f:
            f.write('version: 1\nname: %s\n' % self.name)
            f.write(base.SITES % {'west_cloud': 'site-b'})
            f.write(GROUP % {'prefix': self.prefix})
        self.store = store_mod.StateStore(self.state_url)
        self.addCleanup(self.store.close)

    def servers(self, cloud, ids=False):
        names = {self.prefix + 'hss-1', self.prefix + 'hss-2'}
        return {s.name: s.id if ids else s.status
                for s in self.connection(cloud).compute.servers()
                if s.name in names and not _drilled(s)}

    def drilled(self, cloud):
        """The servers at ``cloud`` that a drill's copy holds."""
        return {s.name: s.status
                for s in self.connection(cloud).compute.servers()
                if _drilled(s)}

    def ports(self, cloud):
        """The group's ports at ``cloud``: name -> (IPs, MAC)."""
        return {p.name: (sorted(i['ip_address'] for i in p.fixed_ips),
                         p.mac_address)
                for p in self.connection(cloud).network.ports()
                if (p.name or '').startswith(self.prefix + 'hss-')}

    def group_state(self):
        return groups.get(self.store, self.name, 'core')

    def run_failback(self, workflow, wait=True, **inputs):
        execution = self.client.executions.create(
            '%s.%s' % (FAILBACK_WB, workflow),
            workflow_input=dict({'plan_file': self.plan_file}, **inputs))
        return self.wait(execution.id, timeout=600) if wait else execution

    def wait_for_decision(self, execution_id, timeout):
        """The pending action of "approve_delink"; fails if none comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for action in self.action_executions(execution_id,
                                                 'approve_delink'):
                if action.state == 'RUNNING':
                    return action
            execution = self.client.executions.get(execution_id)
            if execution.state != 'RUNNING':
                self.fail('execution %s ended %s before the decision: %s' % (
                    execution_id, execution.state, execution.state_info))
            time.sleep(0.5)
        self.fail('no decision "approve_delink" after %ss' % timeout)

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

    def test_disaster_takeover_then_reprotect_and_failback(self):
        started = time.monotonic()
        figures = {}
        primary_ports, vnfs = self.take_over(figures)
        failback_vnfs = self.give_back(figures, primary_ports)
        figures['test'] = time.monotonic() - started
        self.record(mistral_takeover=figures, client_seconds=self.timings,
                    vnfs=vnfs, failback_vnfs=failback_vnfs)

    def take_over(self, figures):
        """The disaster workflow, refused, then declared.

        Returns the group's ports at the primary before the takeover, and
        the takeover's figures per VNF.
        """
        # Only the group's servers: the sites' quotas are shared with the
        # other functional tests.
        self.deploy_sample(servers=('hss-1', 'hss-2'))
        # What the takeover makes at site-b carries the sample's names.
        self.addCleanup(sample.remove, self.connection('site-b'),
                        self.prefix)
        figures['deploy sample'] = self.deploy_seconds
        step = time.monotonic()
        self.assertEqual('SUCCESS', self.run_job(
            'protect', '--plan', self.plan_file)['state'])
        sync = self.run_job('sync', '--plan', self.plan_file)
        self.assertEqual('SUCCESS', sync['state'], sync['error'])
        figures['protect and sync (command)'] = time.monotonic() - step
        primary = self.servers('site-a')
        self.assertEqual({'ACTIVE'}, set(primary.values()), primary)
        primary_ports = self.ports('site-a')
        self.assertEqual(3, len(primary_ports), primary_ports)
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
        return primary_ports, json.loads(json.dumps(core['vnfs']))

    def give_back(self, figures, primary_ports):
        """Reprotect, a refused de-link, then the failback; its figures."""
        before = self.servers('site-a', ids=True)
        dr_servers = self.servers('site-b', ids=True)
        # Reprotect: site-b replicates to site-a, a first reverse sync.
        step = time.monotonic()
        reprotect = self.wait(self.execution_id(self.shell(
            'failback-reprotect')), timeout=600)
        figures['reprotect workflow'] = time.monotonic() - step
        self.assertEqual('SUCCESS', reprotect.state, reprotect.state_info)
        out = reprotect.output_data
        self.assertEqual(('reprotect', 'SUCCESS', out['job_id']), (
            out['report']['operation'], out['report']['state'],
            out['report']['id']))
        self.assertEqual(('sync', 'SUCCESS', out['sync_job_id']), (
            out['sync']['operation'], out['sync']['state'],
            out['sync']['id']))
        state = self.group_state()
        self.assertEqual((groups.REPROTECTED, 'west', 'east', 'west'),
                         (state.state, state.source_site, state.target_site,
                          state.serving_site))
        back = checkpoints.latest(self.store, self.name, 'core',
                                  source_site='west')
        self.assertEqual(checkpoints.checkpoint_id(out['sync_job_id']),
                         back.id)

        # The origin built and checked, then the de-link refused: site-b
        # still serves, site-a stays ready.
        step = time.monotonic()
        refused = self.client.executions.get(self.execution_id(self.shell(
            'failback')))
        decision = self.wait_for_decision(refused.id, timeout=600)
        figures['failback: origin built'] = time.monotonic() - step
        self.assertEqual('RUNNING',
                         self.client.executions.get(refused.id).state)
        fresh = self.servers('site-a', ids=True)
        self.assertEqual(set(before), set(fresh))
        self.assertFalse(set(before.values()) & set(fresh.values()))
        self.assertEqual({'ACTIVE'}, set(self.servers('site-a').values()))
        self.assertEqual(primary_ports, self.ports('site-a'))
        self.assertEqual(dr_servers, self.servers('site-b', ids=True))
        self.assertEqual(groups.REPROTECTED, self.group_state().state)
        self.client.action_executions.update(
            decision.id, state='ERROR',
            output={'reason': 'not before the busy hour ends'})
        refused = self.wait(refused.id)
        self.assertEqual('ERROR', refused.state)
        origin_job = refused.output_data['origin_job_id']
        self.assertIn('de-link of plan %s from its DR site not approved: not '
                      'before the busy hour ends (the DR site still serves; '
                      'the origin built by failback job %s stays ready)'
                      % (self.name, origin_job), refused.state_info)
        self.assertIn('delink_only: true', refused.output_data['next'])
        self.assertIsNone(self.task(refused.id, 'delink'))
        self.assertEqual(('west', groups.REPROTECTED), (
            self.group_state().serving_site, self.group_state().state))
        self.assertEqual(dr_servers, self.servers('site-b', ids=True))

        # Approved, later: the de-link, the forward sync, the report.
        step = time.monotonic()
        execution = self.run_failback('failback', wait=False, drain_time=0,
                                      delink_only=True)
        decision = self.wait_for_decision(execution.id, timeout=120)
        self.client.action_executions.update(decision.id, state='SUCCESS')
        done = self.wait(execution.id, timeout=600)
        figures['failback: approved to SUCCESS'] = time.monotonic() - step
        self.assertEqual('SUCCESS', done.state, done.state_info)
        out = done.output_data
        report = out['report']
        self.assertEqual((out['job_id'], 'delink', 'SUCCESS', True, None),
                         (report['job'], report['stage'], report['state'],
                          report['complete'], out['next']), report)
        self.assertIsNone(out['origin_job_id'])
        self.assertNotEqual(origin_job, out['job_id'])
        core = report['groups']['core']
        self.assertEqual(
            ('east', 'west', True, groups.PROTECTED, 'east',
             {'from': 'east', 'to': 'west'}),
            (core['origin'], core['dr'], core['origin_serves'],
             core['protection'], core['serving_site'], core['replicates']))
        hss = core['vnfs']['hss']
        self.assertLessEqual(hss['drained'], core['serving_at'])
        self.assertGreaterEqual(hss['standby_at'], core['serving_at'])
        # site-a serves, through the same IPs and MACs; the hot standbys
        # at site-b run on, de-linked.
        self.assertEqual(fresh, self.servers('site-a', ids=True))
        self.assertEqual(primary_ports, self.ports('site-a'))
        self.assertEqual(dr_servers, self.servers('site-b', ids=True))
        self.assertEqual({'ACTIVE'}, set(self.servers('site-b').values()))
        # Forward again: the newest checkpoint is site-a's.
        newest = checkpoints.latest(self.store, self.name, 'core')
        self.assertEqual(('east', checkpoints.checkpoint_id(
            out['sync_job_id'])), (newest.source_site, newest.id))
        listed = {j['ID']: j for j in self.jobs_of_plan()}
        for job_id in (origin_job, out['job_id'], out['sync_job_id']):
            self.assertEqual('SUCCESS', listed[job_id]['State'], job_id)
            self.assertTrue(listed[job_id]['Owner'].startswith('mistral@'))
        self.assertLessEqual(set(test_mistral.FAILBACK_SECTIONS),
                             self.sections_run)
        return json.loads(json.dumps(core))

    def test_drill_kept_then_cleaned_up(self):
        """The drill workflow keeps a copy; the cleanup workflow removes it."""
        figures = {}
        self.deploy_sample(servers=('hss-1', 'hss-2'))
        # The copy's servers carry the sample's names; whatever a failure
        # leaves of the copy is removed by its drill's cleanup.
        self.addCleanup(sample.remove, self.connection('site-b'),
                        self.prefix)
        self.addCleanup(self.remove_drill_copies)
        figures['deploy sample'] = self.deploy_seconds
        self.assertEqual('SUCCESS', self.run_job(
            'protect', '--plan', self.plan_file)['state'])
        sync = self.run_job('sync', '--plan', self.plan_file)
        self.assertEqual('SUCCESS', sync['state'], sync['error'])
        primary = self.servers('site-a', ids=True)
        standbys = self.servers('site-b', ids=True)
        self.assertEqual(2, len(standbys), standbys)
        self.assertEqual({}, self.drilled('site-b'))

        # The drill, kept, as the guide starts it.
        step = time.monotonic()
        done = self.wait(self.execution_id(self.shell('drill')),
                         timeout=600)
        figures['drill workflow'] = time.monotonic() - step
        self.assertEqual('SUCCESS', done.state, done.state_info)
        out = done.output_data
        report = out['report']
        job_id = out['job_id']
        self.assertEqual((job_id, 'SUCCESS', True, ['core'], [], [], 3600),
                         (report['job'], report['state'],
                          report['complete'], report['kept'],
                          report['not_ready'], report['differing'],
                          report['keep_for']), report)
        self.assertEqual(job_id, out['drill_id'])
        self.assertEqual({'workflow': 'geoflows.drill.v1.cleanup',
                          'input': {'drill': job_id},
                          'command': 'geoflows drill cleanup %s' % job_id},
                         out['cleanup'])
        core = report['groups']['core']
        self.assertEqual(('west', True, [], drills.PRESENT),
                         (core['site'], core['verify']['clean'],
                          core['verify']['differences'], core['copy']))
        self.assertEqual({'hss'}, set(core['vnfs']))
        for name, vnf in core['vnfs'].items():
            self.assertTrue(vnf['ready'], (name, vnf))
            self.assertGreater(vnf['rto'], 0)
            self.assertGreater(vnf['rpo'], 0)
            self.assertEqual((600, 900), (vnf['rpo_target'],
                                          vnf['rto_target']))
        [copy] = drills.listing(self.store)
        self.assertEqual((job_id, 'core', 'west'),
                         (copy.drill_id, copy.group_name, copy.site))
        # The copy runs at site-b beside the standbys; nothing else moved.
        self.assertEqual({self.prefix + 'hss-1': 'ACTIVE',
                          self.prefix + 'hss-2': 'ACTIVE'},
                         self.drilled('site-b'))
        self.assertEqual(primary, self.servers('site-a', ids=True))
        self.assertEqual(standbys, self.servers('site-b', ids=True))
        state = self.group_state()
        self.assertEqual((groups.PROTECTED, None),
                         (state.state, state.serving_site))
        [listed] = [j for j in self.jobs_of_plan() if j['ID'] == job_id]
        self.assertTrue(listed['Owner'].startswith('mistral@'), listed)

        # The cleanup, by the drill's id, as the guide runs it.
        step = time.monotonic()
        cleaned = self.wait(self.execution_id(self.shell(
            'drill-cleanup', DRILL_ID=out['drill_id'])), timeout=600)
        figures['cleanup workflow'] = time.monotonic() - step
        self.assertEqual('SUCCESS', cleaned.state, cleaned.state_info)
        out = cleaned.output_data
        self.assertEqual((job_id, []), (out['drill_id'], out['left']))
        self.assertEqual([], drills.listing(self.store))
        self.assertEqual({}, self.drilled('site-b'))
        self.assertEqual(primary, self.servers('site-a', ids=True))
        self.assertEqual(standbys, self.servers('site-b', ids=True))
        self.assertLessEqual(set(test_mistral.DRILL_SECTIONS),
                             self.sections_run)
        self.record(mistral_drill=figures, client_seconds=self.timings,
                    drill_vnfs=json.loads(json.dumps(core['vnfs'])))

    def remove_drill_copies(self):
        """The cleanup of every copy of this test's plan still present."""
        for drill_id in sorted({c.drill_id for c in drills.listing(
                self.store, self.name)}):
            self.geoflows('drill', 'cleanup', drill_id, expect=None)


def _drilled(server):
    """Whether ``server`` is part of a drill's copy (its mark says so)."""
    return ' drill=' in ((server.metadata or {}).get('geoflows') or '')
