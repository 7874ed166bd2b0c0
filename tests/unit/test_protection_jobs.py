"""protect and sync jobs on the fake cloud, end to end through the runner.

The sample VNFs (geoflows.testing.sample) run at the fake site ``paris``;
the group protects them at ``lyon``.
"""

import os
import stat

from keystoneauth1 import exceptions as ksa_exc
from taskflow import states
import yaml

from geoflows import checkpoints
from geoflows import exceptions
from geoflows import jobs
from geoflows.plan import model
from geoflows.testing import sample
from tests.unit import base
from tests.unit import test_runner


def make_plan(**group):
    data = base.plan_data()
    data.update(yaml.safe_load(sample.group_yaml(primary='paris', dr='lyon',
                                                 **group)))
    return base.make_plan(data)


class ProtectionTestCase(base.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.ids = sample.deploy(self.site('paris'))
        self.plan = make_plan()
        self.hook_log = os.path.join(self.tmp, 'hooks.log')

    def with_hooks(self, vnf='pgw'):
        """The plan, with hooks on ``vnf`` that log their calls."""
        script = os.path.join(self.tmp, 'hook.sh')
        with open(script, 'w') as f:
            f.write('#!/bin/sh\necho "$GEOFLOWS_HOOK_POINT $GEOFLOWS_SERVER"'
                    ' >> %s\n' % self.hook_log)
        os.chmod(script, stat.S_IRWXU)
        hook = [{'command': [script]}]
        return make_plan(hooks={vnf: {'quiesce': hook, 'unquiesce': hook,
                                      'pre_sync': hook, 'post_sync': hook}})

    def hook_calls(self):
        if not os.path.exists(self.hook_log):
            return []
        with open(self.hook_log) as f:
            return [line.split() for line in f.read().splitlines()]

    def lyon(self):
        return self.site('lyon')

    def dr_servers(self):
        return {s.name: s for s in self.lyon().compute.servers()}


class TestProtect(ProtectionTestCase):

    def test_the_dr_site_holds_what_the_vnfs_need(self):
        job = self.runner.start('protect', self.plan)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        net = self.lyon().network
        subnets = {s.name: s for s in net.subnets()}
        primary = {s.name: s for s in self.site('paris').network.subnets()}
        for name in ('vnf-mgmt', 'vnf-data'):
            for key in ('cidr', 'gateway_ip', 'allocation_pools',
                        'is_dhcp_enabled'):
                self.assertEqual(getattr(primary[name], key),
                                 getattr(subnets[name], key), (name, key))
        [group] = net.security_groups(name='vnf-sg')
        rules = {(r.direction, r.protocol, r.port_range_min,
                  r.remote_ip_prefix, bool(r.remote_group_id))
                 for r in net.security_group_rules(
                     security_group_id=group.id)}
        self.assertIn(('ingress', 'tcp', 8000, None, True), rules)
        self.assertIn(('ingress', 'icmp', None, '10.0.0.0/8', False), rules)
        [flavor] = self.lyon().compute.flavors()
        self.assertEqual((1, 256, 1), (flavor.vcpus, flavor.ram, flavor.disk))
        self.assertEqual(sample.PUBLIC_KEY, self.lyon().compute.get_keypair(
            'vnf-key').public_key)
        [image] = self.lyon().image.images()
        source = self.site('paris').image.get_image(self.ids['vnf-image'])
        self.assertEqual((source.checksum, source.hash_value),
                         (image.checksum, image.hash_value))
        # Standbys of the hot and warm VNFs, with the primary's addresses.
        servers = self.dr_servers()
        self.assertEqual({'hss-1', 'hss-2', 'pgw-1', 'pgw-2'}, set(servers))
        self.assertTrue(all(s.status == 'ACTIVE' for s in servers.values()))
        for name in servers:
            port_name = '%s-mgmt' % name
            [there] = net.ports(name=port_name)
            [here] = self.site('paris').network.ports(name=port_name)
            self.assertEqual(here.mac_address, there.mac_address)
            self.assertEqual([ip['ip_address'] for ip in here.fixed_ips],
                             [ip['ip_address'] for ip in there.fixed_ips])
        # The hot VNF has a volume to replicate into; cold ones nothing.
        self.assertEqual(['hss-1-db'],
                         [v.name for v in self.lyon().block_storage.volumes()])

    def test_again_creates_nothing_and_revert_removes_only_its_own(self):
        initial = self.inventory()
        first = self.runner.start('protect', self.plan)
        ready = self.inventory()
        second = self.runner.start('protect', self.plan)
        self.assertEqual(jobs.SUCCESS, second.state, second.error)
        self.assertEqual(ready, self.inventory())
        reports = second.result['units']
        self.assertTrue(all(r['action'] == 'found' for unit in
                            reports.values() for r in unit['resources']))
        # The second job found everything: its revert deletes nothing.
        self.runner.revert(second.id)
        self.assertEqual(ready, self.inventory())
        job = self.runner.revert(first.id)
        self.assertEqual(jobs.REVERTED, job.state, job.error)
        self.assertEqual(initial, self.inventory())

    def test_a_missing_server_is_said_before_any_change(self):
        self.site('paris').compute.delete_server(self.ids['pgw-2'])
        initial = self.inventory()
        e = self.assertRaises(exceptions.PreflightError, self.runner.start,
                              'protect', self.plan)
        [problem] = e.problems
        self.assertEqual('protection_groups[0].vnfs[1].servers[1]',
                         problem.place)
        self.assertIn("no server 'pgw-2' at site 'paris'", problem.message)
        self.assertIn('correct the name in the plan', problem.message)
        self.assertEqual([], self.runner.list())
        self.assertEqual(initial, self.inventory())

    def test_a_dr_quota_too_small_is_said_before_any_change(self):
        self.lyon().set_quota(cores=3)
        e = self.assertRaises(exceptions.PreflightError, self.runner.start,
                              'protect', self.plan)
        [problem] = e.problems
        self.assertEqual('protection_groups[0].dr', problem.place)
        self.assertIn('cores: 6 needed, 3 free', problem.message)
        self.assertEqual([], self.runner.list())

    def test_an_unreachable_dr_site_is_said_before_any_change(self):
        self.lyon().fail('get_limits', times=5,
                         error=ksa_exc.ConnectFailure('refused'))
        e = self.assertRaises(exceptions.PreflightError, self.runner.start,
                              'protect', self.plan)
        self.assertIn("site 'lyon': read the compute quota: cannot reach the "
                      "API", str(e))
        self.assertEqual([], self.runner.list())

    def test_a_failure_reverts_the_dr_site(self):
        initial = self.inventory()
        self.lyon().fail_builds(times=1, name='pgw-2')
        job = self.runner.start('protect', self.plan)
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIn('pgw-2', job.error)
        self.assertIn('is in ERROR', job.error)
        self.assertEqual(initial, self.inventory())


class TestSync(ProtectionTestCase):

    def setUp(self):
        super().setUp()
        job = self.runner.start('protect', self.plan)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)

    def restored_sha(self, checkpoint, vnf):
        [record] = checkpoint.vnfs[vnf]['copies']
        cinder = self.lyon().block_storage
        restored = cinder.restore_backup(record['backup_id'], name='check')
        cinder.get_volume(restored.volume_id)
        return self.lyon().volume_sha256(restored.volume_id)

    def test_copies_wait_for_the_work_under_way(self):
        # Real Cinder shows snapshots, backups and imports as creating for
        # a while, and refuses to export or delete them meanwhile.
        for site in ('paris', 'lyon'):
            self.site(site).storage_reads = 3
        volume = self.ids['pgw-1-cfg']
        self.site('paris').write_volume(volume, 0, b'under way' * 100)
        job = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        cp = checkpoints.latest(self.store, 'test', 'core')
        self.assertEqual(self.site('paris').volume_sha256(volume),
                         self.restored_sha(cp, 'pgw'))

    def test_bytes_reach_the_dr_site_incrementally(self):
        volume = self.ids['pgw-1-cfg']
        paris = self.site('paris')
        paris.write_volume(volume, 4096, b'before the disaster' * 100)
        job = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        first = checkpoints.latest(self.store, 'test', 'core')
        self.assertEqual(paris.volume_sha256(volume),
                         self.restored_sha(first, 'pgw'))
        self.assertFalse(first.vnfs['pgw']['copies'][0]['incremental'])
        # More bytes and a new rule: the next sync copies incrementally
        # and adds the rule at the DR site.
        paris.write_volume(volume, 64 * 1024 * 1024, b'later' * 1000)
        paris.network.create_security_group_rule(
            security_group_id=self.ids['vnf-sg'], direction='ingress',
            ether_type='IPv4', protocol='udp', port_range_min=53,
            port_range_max=53, remote_ip_prefix='10.0.0.0/8')
        self.assertEqual(jobs.SUCCESS, self.runner.start('sync',
                                                         self.plan).state)
        second = checkpoints.latest(self.store, 'test', 'core')
        record = second.vnfs['pgw']['copies'][0]
        self.assertTrue(record['incremental'])
        self.assertEqual([first.vnfs['pgw']['copies'][0]['backup_id']],
                         record['chain'])
        self.assertEqual(paris.volume_sha256(volume),
                         self.restored_sha(second, 'pgw'))
        self.assertIn('udp', [r.protocol for r in
                              self.lyon().network.security_group_rules()])
        # Nothing left at the primary but its backups.
        self.assertEqual([], list(paris.block_storage.snapshots()))

    def test_the_checkpoint_holds_what_a_takeover_needs(self):
        self.runner.start('sync', self.plan)
        cp = checkpoints.latest(self.store, 'test', 'core')
        self.assertEqual({'hss', 'pgw', 'fw'}, set(cp.vnfs))
        fw = cp.vnfs['fw']
        self.assertEqual(['fw-1', 'fw-2'],
                         [s['name'] for s in fw['servers']])
        server = fw['servers'][0]
        self.assertEqual('vnf-small', server['flavor'])
        self.assertEqual(self.ids['vnf-image'], server['image'])
        self.assertEqual(['vnf-mgmt', 'vnf-data'],
                         [p['network'] for p in server['ports']])
        self.assertEqual('10.51.0.31',
                         server['ports'][1]['fixed_ips'][0]['ip_address'])
        self.assertEqual(['fw-1-logs'], [v['name'] for v in
                                         server['volumes']])
        doc = cp.document['group_doc']
        [chain] = doc['chains']
        self.assertEqual(['pgw-group', 'fw-group'],
                         [g['name'] for g in chain['port_pair_groups']])
        self.assertEqual({'vnf': 'pgw', 'server': 'pgw-1',
                          'port': 'pgw-1-data'},
                         chain['port_pair_groups'][0]['port_pairs'][0][
                             'ingress'])
        self.assertEqual({'vnf': 'hss', 'server': 'hss-1',
                          'port': 'hss-1-data'},
                         chain['flow_classifiers'][0]['logical_source_port'])
        self.assertLessEqual(cp.created_at, cp.consistent_at)

    def test_hooks_in_order_also_when_the_copy_fails(self):
        plan = self.with_hooks()
        self.assertEqual(jobs.SUCCESS, self.runner.start('sync', plan).state)
        self.assertEqual([['pre_sync'], ['quiesce', 'pgw-1'],
                          ['quiesce', 'pgw-2'], ['unquiesce', 'pgw-2'],
                          ['unquiesce', 'pgw-1'], ['post_sync']],
                         self.hook_calls())
        os.unlink(self.hook_log)
        before = self.inventory()
        self.site('paris').fail('create_backup', times=3)
        job = self.runner.start('sync', plan)
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertEqual([['pre_sync'], ['quiesce', 'pgw-1'],
                          ['quiesce', 'pgw-2'], ['unquiesce', 'pgw-2'],
                          ['unquiesce', 'pgw-1']], self.hook_calls())
        self.assertEqual(before, self.inventory())
        self.assertEqual(1, len(checkpoints.listing(self.store, 'test',
                                                    'core')))

    def test_a_failed_quiesce_unquiesces_what_was_quiesced(self):
        plan = self.with_hooks()
        script = plan.protection_groups[0].vnf('pgw').hooks['quiesce'][0][
            'command'][0]
        with open(script, 'a') as f:
            f.write('[ "$GEOFLOWS_HOOK_POINT $GEOFLOWS_SERVER" != '
                    '"quiesce pgw-2" ]\n')
        job = self.runner.start('sync', plan)
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIn('quiesce hook', job.error)
        # pgw-2's quiesce may hold something although it failed.
        self.assertEqual([['pre_sync'], ['quiesce', 'pgw-1'],
                          ['quiesce', 'pgw-2'], ['unquiesce', 'pgw-2'],
                          ['unquiesce', 'pgw-1']], self.hook_calls())

    def test_retention_prunes_old_checkpoints_and_their_copies(self):
        for _ in range(7):
            job = self.runner.start('sync', self.plan)
            self.assertEqual(jobs.SUCCESS, job.state, job.error)
        kept = checkpoints.listing(self.store, 'test', 'core',
                                   with_vnfs=True)
        self.assertEqual(3, len(kept))
        needed = set()
        for cp in kept:
            for record in cp.vnfs['pgw']['copies']:
                needed |= {record['backup_id']} | set(record['chain'])
        for site in ('paris', 'lyon'):
            found = {b.id for b in self.site(site).block_storage.backups(
                volume_id=self.ids['pgw-1-cfg'])}
            self.assertEqual(needed, found, site)
        states_ = [c.state for c in checkpoints.listing(
            self.store, 'test', 'core', states=None)]
        self.assertEqual(7, len(states_))
        self.assertEqual(3, states_.count(checkpoints.COMPLETE))

    def test_a_server_added_to_a_warm_vnf_gets_its_standby(self):
        data = base.plan_data()
        data.update(yaml.safe_load(sample.group_yaml(primary='paris',
                                                     dr='lyon')))
        data['protection_groups'][0]['vnfs'][1]['servers'].append('fw-2')
        data['protection_groups'][0]['vnfs'][2]['servers'] = ['fw-1']
        plan = base.make_plan(data)
        self.assertEqual(jobs.SUCCESS, self.runner.start('sync', plan).state)
        self.assertIn('fw-2', self.dr_servers())
        self.assertNotIn('fw-1', self.dr_servers())

    def test_a_failed_sync_is_the_groups_last_error(self):
        from geoflows.checkpoints import groups
        self.site('paris').fail('create_snapshot', times=1)
        job = self.runner.start('sync', self.plan)
        self.assertEqual(jobs.REVERTED, job.state)
        state = groups.get(self.store, 'test', 'core')
        self.assertEqual(job.id, state.last_sync_job)
        self.assertIn('snapshot', state.last_sync_error)
        self.assertEqual(jobs.SUCCESS, self.runner.start('sync',
                                                         self.plan).state)
        self.assertIsNone(groups.get(self.store, 'test',
                                     'core').last_sync_error)


class TestSyncCrash(ProtectionTestCase):
    """A sync whose controller died, resumed or reverted."""

    POINTS = [('core/pgw', 'quiesce.pgw-2', states.RUNNING),
              ('core/pgw', 'data.pgw-1.%s.snapshot', states.SUCCESS),
              ('core/pgw', 'unquiesce.pgw-1', states.RUNNING),
              ('core/pgw', 'data.pgw-1.%s.backup', states.RUNNING),
              ('core/fw', 'data.fw-1.%s.imported', states.SUCCESS),
              ('core.checkpoint', 'checkpoint', states.RUNNING)]

    def setUp(self):
        super().setUp()
        self.plan = self.with_hooks()
        world = test_runner.World(self, 'protected', self.clouds,
                                  self.store.engine.url.database)
        self.assertEqual(jobs.SUCCESS,
                         world.runner.start('protect', self.plan).state)

    def point(self, unit, step):
        volumes = {'pgw-1': self.ids['pgw-1-cfg'],
                   'fw-1': self.ids['fw-1-logs']}
        for server, volume in volumes.items():
            if '.%s.' % server in step:
                return step % volume
        return step

    def crashed(self, name, unit, step, state):
        world = test_runner.World(self, name, self.clouds.clone(),
                                  self._copy_store(name))
        job_id = world.runner.create('sync', self.plan)
        crash_dir = os.path.join(self.tmp, name + '-restarted')
        os.mkdir(crash_dir)
        path, clouds = test_runner.CrashPoint(
            self.point(unit, step), state).crash(world, job_id, crash_dir)
        return test_runner.World(self, name + '-restarted', clouds,
                                 path), job_id

    def _copy_store(self, name):
        import sqlite3
        path = os.path.join(self.tmp, '%s.sqlite' % name)
        source = sqlite3.connect(self.store.engine.url.database)
        target = sqlite3.connect(path)
        source.backup(target)
        source.close()
        target.close()
        return path

    def backups(self, world):
        return {site: sorted(b.name for b in world.clouds.site(
            'telco', site).block_storage.backups())
            for site in ('paris', 'lyon')}

    def test_resume_makes_one_checkpoint_and_no_duplicate(self):
        for i, (unit, step, state) in enumerate(self.POINTS):
            os.unlink(self.hook_log) if os.path.exists(self.hook_log) \
                else None
            restarted, job_id = self.crashed('resume%d' % i, unit, step,
                                             state)
            job = restarted.runner.resume(job_id)
            self.assertEqual(jobs.SUCCESS, job.state, (step, job.error))
            [cp] = checkpoints.listing(restarted.store, 'test', 'core')
            self.assertEqual(checkpoints.checkpoint_id(job_id), cp.id)
            names = self.backups(restarted)
            # One backup per volume with a backup method, at both sites.
            self.assertEqual(2, len(names['paris']), (step, names))
            self.assertEqual(names['paris'], names['lyon'])
            self.assertEqual([], list(restarted.clouds.site(
                'telco', 'paris').block_storage.snapshots()), step)
            calls = self.hook_calls()
            # Whatever ran twice, every quiesce was undone.
            self.assertEqual(calls.count(['quiesce', 'pgw-1']) > 0,
                             ['unquiesce', 'pgw-1'] in calls, (step, calls))
            self.assertEqual(['unquiesce', 'pgw-1'],
                             [c for c in calls if c[0].endswith('quiesce')][
                                 -1], (step, calls))

    def test_revert_waits_for_a_backup_still_being_made(self):
        before = self.inventory()
        for site in ('paris', 'lyon'):
            self.site(site).storage_reads = 3
        restarted, job_id = self.crashed(
            'busy', 'core/pgw', 'data.pgw-1.%s.backup', states.SUCCESS)
        # The backup the dead job made is still creating: Cinder refuses
        # to delete it until it is available.
        paris = restarted.clouds.site('telco', 'paris').block_storage
        job = restarted.runner.revert(job_id)
        self.assertEqual(jobs.REVERTED, job.state, job.error)
        self.assertEqual(before, restarted.inventory())
        self.assertEqual([], list(paris.backups()))

    def test_revert_leaves_the_dr_site_as_before(self):
        before = self.inventory()
        for i, (unit, step, state) in enumerate(self.POINTS):
            os.unlink(self.hook_log) if os.path.exists(self.hook_log) \
                else None
            restarted, job_id = self.crashed('revert%d' % i, unit, step,
                                             state)
            job = restarted.runner.revert(job_id)
            self.assertEqual(jobs.REVERTED, job.state, (step, job.error))
            self.assertEqual(before, restarted.inventory(), step)
            self.assertEqual([], checkpoints.listing(
                restarted.store, 'test', 'core', states=None), step)
            calls = self.hook_calls()
            quiesced = [c[1] for c in calls if c[0] == 'quiesce']
            unquiesced = [c[1] for c in calls if c[0] == 'unquiesce']
            self.assertEqual(set(quiesced), set(unquiesced), (step, calls))


class TestModel(base.TestCase):

    def test_sample_plan_is_the_minicloud_plans_group(self):
        from geoflows import plan
        mini = plan.load(os.path.join(base.REPO, 'etc', 'plans',
                                      'minicloud.yaml')).protection_group(
                                          'core')
        ours = make_plan().protection_group('core')
        for field in ('vnfs',):
            self.assertEqual([(v.name, v.priority, v.standby, v.servers,
                               v.depends_on, v.replication, v.chains)
                              for v in getattr(mini, field)][:2],
                             [(v.name, v.priority, v.standby, v.servers,
                               v.depends_on, v.replication, v.chains)
                              for v in getattr(ours, field)][:2])
        self.assertIsInstance(ours, model.protection.ProtectionGroup)
