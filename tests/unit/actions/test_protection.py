"""geoflows.protection.status and geoflows.checkpoint.list, and the
geoflows.job.start of protect and sync, on the fake cloud."""

import datetime
import json

import yaml

from geoflows.actions import checkpoint as checkpoint_actions
from geoflows.actions import job as job_actions
from geoflows.actions import protection as protection_actions
from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import jobs
from geoflows import secrets
from geoflows.testing import sample
from tests.unit.actions import base as actions_base_test
from tests.unit import base


def plan_data(**group):
    data = base.plan_data()
    data.update(yaml.safe_load(sample.group_yaml(primary='paris', dr='lyon',
                                                 **group)))
    return data


class ProtectionActionTestCase(actions_base_test.ActionTestCase):

    def setUp(self):
        super().setUp()
        self.ids = sample.deploy(self.site('paris'))
        self.data = plan_data()

    def start(self, operation, task='task-1', action='action-1', **inputs):
        inputs.setdefault('plan', self.data)
        return job_actions.StartJob(operation, **inputs).run(
            actions_base_test.execution(task, action))

    def status(self, **inputs):
        inputs.setdefault('plan', self.data)
        return protection_actions.ProtectionStatus(**inputs).run(
            actions_base_test.execution())

    def checkpoints(self, **inputs):
        return checkpoint_actions.ListCheckpoints(**inputs).run(
            actions_base_test.execution())

    def protected_and_synced(self):
        protect = self.start('protect', task='t-protect', names=['core'])
        self.assertEqual(jobs.SUCCESS, protect['state'], protect)
        sync = self.start('sync', task='t-sync', names=['core'])
        self.assertEqual(jobs.SUCCESS, sync['state'], sync)
        return protect, sync


class TestProtectAndSyncJobs(ProtectionActionTestCase):

    def test_protect_then_sync_then_status_ok(self):
        protect, sync = self.protected_and_synced()
        plan = base.make_plan(self.data)
        execution = actions_base_test.execution('t-sync').execution
        self.assertEqual(job_actions.job_id_for(execution, 'sync', plan,
                                                ['core']), sync['id'])
        self.assertEqual(['protect', 'sync'],
                         [protect['operation'], sync['operation']])

        status = self.status()
        json.dumps(status)  # Mistral stores it as JSON
        self.assertFalse(status['violated'])
        self.assertFalse(status['at_risk'])
        self.assertEqual([], status['violations'])
        self.assertEqual({'OK': 3, 'AT RISK': 0, 'VIOLATED': 0},
                         status['counts'])
        core = status['groups']['core']
        cid = checkpoints.checkpoint_id(sync['id'])
        self.assertEqual(('OK', True, cid, sync['id'], None),
                         (core['state'], core['protected'],
                          core['checkpoint'], core['last_sync_job'],
                          core['last_sync_error']))
        self.assertEqual({'hss', 'pgw', 'fw'}, set(core['vnfs']))
        hss = core['vnfs']['hss']
        self.assertEqual((cid, 600, 'OK', 'hot'),
                         (hss['checkpoint'], hss['rpo_target'],
                          hss['state'], hss['standby']))
        self.assertLess(hss['rpo'], 60)
        # The standbys of the hot and warm VNFs run at the DR site; the
        # cold one has none.
        self.assertEqual({'hss': 'ACTIVE', 'pgw': 'ACTIVE', 'fw': None},
                         {v: r['standby_state']
                          for v, r in core['vnfs'].items()})

        listed = self.checkpoints(plan_name='test', group='core')
        self.assertEqual(1, listed['count'])
        [entry] = listed['checkpoints']
        self.assertEqual((cid, sync['id'], 'complete', ['fw', 'hss', 'pgw']),
                         (entry['id'], entry['job'], entry['state'],
                          entry['vnfs']))
        json.dumps(listed)

    def test_the_retry_of_a_sync_task_finds_its_job(self):
        self.start('protect', task='t-protect')
        first = self.start('sync', task='t-sync', action='a-1')
        again = self.start('sync', task='t-sync', action='a-2')
        self.assertEqual(first['id'], again['id'])
        self.assertEqual(1, again['attempts'])
        other = self.start('sync', task='t-sync-2')
        self.assertNotEqual(first['id'], other['id'])
        self.assertEqual(2, self.checkpoints(plan_name='test')['count'])

    def test_a_sync_of_an_unknown_group_is_a_clear_error(self):
        result = self.start('sync', names=['edge'])
        self.assertActionError(result, "has no protection group 'edge'",
                               'core', kind='GeoflowsError')
        self.assertEqual([], self.runner.list())


class TestStatus(ProtectionActionTestCase):

    def test_before_any_sync_every_vnf_is_violated(self):
        status = self.status(standby=False)
        self.assertTrue(status['violated'])
        self.assertEqual(['core/hss', 'core/pgw', 'core/fw'],
                         status['violations'])
        core = status['groups']['core']
        self.assertEqual(('VIOLATED', False, None),
                         (core['state'], core['protected'],
                          core['checkpoint']))
        self.assertIsNone(core['vnfs']['hss']['rpo'])
        self.assertIsNone(core['vnfs']['hss']['standby_state'])

    def test_an_old_checkpoint_violates_and_a_failed_sync_is_at_risk(self):
        self.protected_and_synced()
        status = self.status(standby=False)
        self.assertEqual('OK', status['groups']['core']['state'])
        # Ten minutes and a second later, the copy is too old.
        store = self.runner.store
        [cp] = checkpoints.listing(store, 'test', 'core')
        old = checkpoints.utcnow() - datetime.timedelta(seconds=601)
        for vnf in ('hss', 'pgw', 'fw'):
            checkpoints.save_vnf(store, cp.id, vnf,
                                 checkpoints.isoformat(old), {})
        status = self.status(standby=False)
        self.assertTrue(status['violated'])
        self.assertEqual(3, status['counts']['VIOLATED'])
        # A failed sync: at risk while the copy is young enough.
        for vnf in ('hss', 'pgw', 'fw'):
            checkpoints.save_vnf(store, cp.id, vnf, checkpoints.isoformat(
                checkpoints.utcnow()), {})
        groups.record_sync(store, 'test', 'core', 'j-failed',
                           error='site lyon: HTTP 503')
        status = self.status(standby=False)
        self.assertFalse(status['violated'])
        self.assertTrue(status['at_risk'])
        self.assertEqual('AT RISK', status['groups']['core']['state'])
        self.assertEqual('site lyon: HTTP 503',
                         status['groups']['core']['last_sync_error'])
        self.assertEqual('j-failed',
                         status['groups']['core']['vnfs']['fw'][
                             'last_sync_job'])

    def test_a_missing_standby_is_said(self):
        self.protected_and_synced()
        compute = self.site('lyon').compute
        [hss2] = [s for s in compute.servers() if s.name == 'hss-2']
        compute.delete_server(hss2.id)
        core = self.status()['groups']['core']
        self.assertEqual('MIXED (hss-1 ACTIVE, hss-2 MISSING)',
                         core['vnfs']['hss']['standby_state'])
        self.assertEqual('ACTIVE', core['vnfs']['pgw']['standby_state'])

    def test_an_unreachable_dr_site_is_a_state_not_a_failure(self):
        self.protected_and_synced()
        self.site('lyon').fail('servers')
        status = self.status()
        self.assertFalse(status['violated'])
        state = status['groups']['core']['vnfs']['hss']['standby_state']
        self.assertTrue(state.startswith('UNKNOWN (DR site lyon: '), state)
        self.assertIn('Internal Server Error', state)

    def test_secrets_never_appear(self):
        self.protected_and_synced()
        secret = 'Sup3r-s3cret-t0ken-value'
        secrets.register(secret)
        groups.record_sync(self.runner.store, 'test', 'core', 'j-failed',
                           error='webhook refused token %s' % secret)
        text = json.dumps(self.status(standby=False))
        self.assertNotIn(secret, text)
        self.assertIn('webhook refused token ***', text)

    def test_one_group_of_several(self):
        data = plan_data()
        other = yaml.safe_load(sample.group_yaml(
            prefix='e-', name='edge', primary='paris',
            dr='lyon'))['protection_groups']
        data['protection_groups'] += other
        status = self.status(plan=data, groups=['edge'], standby=False)
        self.assertEqual(['edge'], list(status['groups']))
        self.assertEqual(2, len(self.status(plan=data, standby=False)[
            'groups']))

    def test_bad_inputs(self):
        for inputs, fragments in [
                ({'groups': 'core'}, ['"groups" must be a list of names']),
                ({'groups': ['Core!']},
                 ['"groups"[0] must be the name of a plan item']),
                ({'groups': ['x' * 5000]}, ['must be the name', "xxx..."]),
                ({'groups': ['edge']}, ["has no protection group 'edge'"]),
                ({'standby': 'yes'}, ['"standby" must be true or false']),
                ({'plan': base.plan_data()},
                 ['defines no protection groups']),
                ({'plan': None}, ['give the plan either inline']),
                ({'plan': 'version: 1\nname: [\n'}, ['is not a valid plan'])]:
            result = self.status(**inputs)
            error = self.assertActionError(result, *fragments)
            self.assertLess(len(error['message']), 2000, inputs)

    def test_attributes_stay_json_able(self):
        action = protection_actions.ProtectionStatus(
            plan=self.data, groups=['core'])
        json.dumps(vars(action))
        json.dumps(vars(checkpoint_actions.ListCheckpoints(plan_name='x')))


class TestListCheckpoints(ProtectionActionTestCase):

    def test_newest_first_limited_and_by_state(self):
        self.start('protect', task='t-protect')
        ids = [self.start('sync', task='t-sync-%d' % n)['id']
               for n in range(3)]
        listed = self.checkpoints(plan_name='test', limit=2)
        self.assertEqual([checkpoints.checkpoint_id(i) for i in ids[:0:-1]],
                         [c['id'] for c in listed['checkpoints']])
        self.assertEqual(0, self.checkpoints(plan_name='other')['count'])
        self.assertEqual(3, self.checkpoints()['count'])
        self.assertEqual(0, self.checkpoints(states=['open'])['count'])

    def test_bad_inputs(self):
        for inputs, fragment in [
                ({'limit': 0}, '"limit" must be a whole number from 1'),
                ({'limit': 10 ** 6}, 'from 1 to 1000'),
                ({'limit': True}, '"limit" must be'),
                ({'limit': '5'}, '"limit" must be'),
                ({'states': ['done']}, '"states" must be a list of '
                                       'checkpoint states'),
                ({'states': 'complete'}, '"states" must be'),
                ({'states': []}, '"states" must be'),
                ({'plan_name': 'A b'}, '"plan_name" must be the name'),
                ({'group': 7}, '"group" must be the name')]:
            self.assertActionError(self.checkpoints(**inputs), fragment,
                                   kind='GeoflowsError')
