"""The protection workbook executed by a real Mistral, cron triggers too.

The sample VNFs run at site-a (RegionOne); a group of one of them
(``hss``: hot, two servers with standbys, replicated by the application,
so that a sync takes seconds) is protected at site-b (RegionTwo) through
the Mistral guide's own commands: protect, sync, status; then cron
triggers of the guide run the sync and status workflows on a schedule
(Mistral's cron has a one-minute grain: the test waits for the next
minute).  The data copies of the other replication methods are the sync's
own tests'; here Mistral drives the jobs and reads their outcome.
"""

import json
import os
import time

from mistralclient.api import base as mistral_base

from geoflows import checkpoints
from geoflows import store as store_mod
from tests.functional import base
from tests.functional import protection
from tests.functional import test_mistral

WORKBOOK = os.path.join(test_mistral.REPO, 'workbooks',
                        'geoflows.protection.v1.yaml')
TRIGGERS = ('dr-core-sync', 'dr-rpo-check')

GROUP = '''\
protection_groups:
  - name: core
    primary: east
    dr: west
    rpo: 10m
    rto: 15m
    sync_interval: 5m
    retention: 3
    vnfs:
      - name: hss
        priority: 1
        standby: hot
        servers: [%(prefix)shss-1, %(prefix)shss-2]
        replication: application
'''


class TestProtectionOnMistral(test_mistral.GuideShell,
                              test_mistral.MistralTestCase,
                              protection.ProtectionTestCase):

    WORKBOOKS = (WORKBOOK,)
    WB = test_mistral.PROTECTION_WB
    CRON_TRIGGERS = True

    def setUp(self):
        super().setUp()
        self.plan_file = os.path.join(self.tmp, 'dr.yaml')
        with open(self.plan_file, 'w') as f:
            f.write('version: 1\nname: %s\n' % self.name)
            f.write(base.SITES % {'west_cloud': 'site-b'})
            f.write(GROUP % {'prefix': self.prefix})
        self.store = store_mod.StateStore(self.state_url)
        self.addCleanup(self.store.close)
        self.addCleanup(self.delete_triggers)

    def delete_triggers(self):
        for name in TRIGGERS:
            try:
                self.client.cron_triggers.delete(name)
            except mistral_base.APIException:
                pass  # deleted by the test, or never made

    def run_section(self, section, **variables):
        return self.wait(self.execution_id(self.shell(section, **variables)))

    def executions_of(self, workflow):
        name = '%s.%s' % (self.WB, workflow)
        return [e for e in self.client.executions.list(workflow_name=name)
                if e.workflow_name == name]

    def complete_checkpoints(self):
        return checkpoints.listing(self.store, self.name, 'core',
                                   with_vnfs=True)

    def test_protect_sync_status_then_cron_triggers(self):
        started = time.monotonic()
        # The group's servers only: the sites' quotas are shared.
        self.deploy_sample(servers=('hss-1', 'hss-2'))
        figures = {'deploy sample': self.deploy_seconds}

        step = time.monotonic()
        protect = self.run_section('protect')
        figures['protect'] = time.monotonic() - step
        self.assertEqual('SUCCESS', protect.state, protect.state_info)
        self.assertEqual('protect', protect.output_data['report'][
            'operation'])
        self.assertEqual({self.prefix + 'hss-1', self.prefix + 'hss-2'},
                         set(self.dr_servers()))

        # Protected, never synced: no copy, every RPO violated.  The
        # workflow fails, naming the VNFs, with the figures in its output.
        early = self.execute('status', plan_file=self.plan_file,
                             standby=False)
        self.assertEqual('ERROR', early.state)
        self.assertIn('RPO violated in plan %s: core/hss (figures in the '
                      'output report)' % self.name, early.state_info)
        self.assertTrue(early.output_data['violated'])
        self.assertEqual(1, early.output_data['report']['counts'][
            'VIOLATED'])
        self.assertEqual('RpoViolated', early.output_data['error']['kind'])
        # The flag alone, for a caller that reads the output.
        told = self.execute('status', plan_file=self.plan_file,
                            standby=False, fail_on_violation=False)
        self.assertEqual('SUCCESS', told.state, told.state_info)
        self.assertTrue(told.output_data['violated'])

        step = time.monotonic()
        sync = self.run_section('sync')
        figures['sync'] = time.monotonic() - step
        self.assertEqual('SUCCESS', sync.state, sync.state_info)
        job_id = sync.output_data['report']['id']
        [checkpoint] = self.complete_checkpoints()
        self.assertEqual(job_id, checkpoint.job_id)
        self.assertEqual(['hss'], sorted(checkpoint.vnfs))
        [copy] = checkpoint.vnfs['hss']['copies']
        self.assertEqual('application', copy['method'], copy)
        listed = self.execute('checkpoints', plan_name=self.name)
        self.assertEqual('SUCCESS', listed.state, listed.state_info)
        self.assertEqual([checkpoint.id], [c['id'] for c in listed.output_data[
            'report']['checkpoints']])

        status = self.run_section('status')
        self.assertEqual('SUCCESS', status.state, status.state_info)
        self.assertFalse(status.output_data['violated'])
        report = status.output_data['report']
        core = report['groups']['core']
        self.assertEqual(('OK', True, checkpoint.id, job_id),
                         (core['state'], core['protected'],
                          core['checkpoint'], core['last_sync_job']))
        self.assertEqual({'hss': ('OK', 'ACTIVE')},
                         {v: (r['state'], r['standby_state'])
                          for v, r in core['vnfs'].items()})
        self.assertLess(core['vnfs']['hss']['rpo'], 300)
        self.assertEqual(600, core['vnfs']['hss']['rpo_target'])

        # Cron triggers, as the guide makes them, every minute.
        self.sync_pattern = '* * * * *'
        syncs = {e.id for e in self.executions_of('sync')}
        checks = {e.id for e in self.executions_of('status')}
        step = time.monotonic()
        self.shell('cron-sync')
        self.shell('cron-status')
        fired_sync = self.wait_fired('sync', syncs)
        fired_check = self.wait_fired('status', checks)
        figures['cron: trigger to both executions done'] = (
            time.monotonic() - step)
        self.assertEqual('SUCCESS', fired_sync.state, fired_sync.state_info)
        self.assertNotEqual(job_id, fired_sync.output_data['report']['id'])
        self.assertEqual('SUCCESS', fired_check.state,
                         fired_check.state_info)
        self.assertFalse(fired_check.output_data['violated'])
        newest = self.complete_checkpoints()
        self.assertEqual([fired_sync.output_data['report']['id'], job_id],
                         [cp.job_id for cp in newest])

        shown = self.shell('cron-follow')
        for name in TRIGGERS:
            self.assertIn(name, shown)
        self.assertIn(fired_sync.id, shown)
        self.shell('cron-delete')
        self.assertEqual([], [t.name for t in self.client.cron_triggers.list()
                              if t.name in TRIGGERS])
        self.assertEqual(set(test_mistral.PROTECTION_SECTIONS),
                         self.sections_run)
        figures['test'] = time.monotonic() - started
        self.record(mistral_protection=figures,
                    client_seconds=self.timings,
                    checkpoint=json.loads(json.dumps(checkpoint.to_dict())))

    def wait_fired(self, workflow, before, timeout=150):
        """The first execution of ``workflow`` not in ``before``, done."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = [e for e in self.executions_of(workflow)
                   if e.id not in before]
            if new:
                return self.wait(new[0].id,
                                 timeout=max(deadline - time.monotonic(), 1))
            time.sleep(1)
        self.fail('no cron trigger started %s within %ds' % (workflow,
                                                             timeout))
