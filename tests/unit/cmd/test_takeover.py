"""takeover, protection verify and protection fence commands, in-process.

The sample VNFs run at the fake site paris, protected at lyon (see
tests/unit/test_takeover_jobs.py for the takeover jobs themselves).
"""

import sys

from keystoneauth1 import exceptions as ksa_exc

from tests.unit.cmd import test_protection


class TakeoverCommandTestCase(test_protection.ProtectionCommandTestCase):

    def setUp(self):
        super().setUp()
        for command in ('protect', 'sync'):
            job = self.json(command, '--plan', self.plan)
            self.assertEqual('SUCCESS', job['state'], job['error'])

    def takeover(self, *options, expect=0):
        return self.json('takeover', '--plan', self.plan, *options,
                         expect=expect)

    def disaster(self, expect=0):
        return self.takeover('--disaster', '--confirm-primary-lost',
                             expect=expect)

    def unreachable_primary(self):
        self.paris.fail('get_server', times=1000,
                        error=ksa_exc.ConnectFailure('connection refused'))

    def primary_answers(self):
        with self.paris.lock:
            self.paris._faults.clear()

    def by_vnf(self, job):
        return {row['vnf']: row for row in job['report']}

    def verify(self, *options, expect=0):
        return self.geoflows('protection', 'verify', '--plan', self.plan,
                             *options, expect=expect)


class TestTakeoverCommand(TakeoverCommandTestCase):

    def test_disaster(self):
        job = self.disaster()
        self.assertEqual('SUCCESS', job['state'], job['error'])
        vnfs = self.by_vnf(job)
        self.assertEqual({'hss', 'pgw', 'fw'}, set(vnfs))
        for name, row in vnfs.items():
            self.assertTrue(row['ready'], name)
            self.assertIsNotNone(row['rto'], name)
            self.assertLessEqual(row['rto'], job['duration'])
            self.assertGreater(row['rpo'], 0)
            self.assertEqual('core', row['group'])
        self.assertRegex(job['verify'], r'^core: as checkpoint [0-9a-f-]+ '
                                        r'says$')
        self.assertNotIn('next', job)
        shown = self.json('job', 'show', job['id'])
        self.assertEqual(job['report'], shown['report'])
        self.assertEqual(job['verify'], shown['verify'])
        self.assertTrue(all(s.status == 'SHUTOFF'
                            for s in self.paris.compute.servers()))
        rows = self.status(0, '--no-dr-site')
        self.assertEqual({('lyon', 'fenced')},
                         {(r['Serving site'], r['Fence']) for r in rows})

    def test_the_report_as_a_table(self):
        out, err = self.geoflows('takeover', '--plan', self.plan,
                                 '--disaster', '--confirm-primary-lost')
        self.assertRegex(out, r'\| core +\| hss +\| 1 +\| hot +\| yes +\|')
        self.assertIn('RTO target', out)
        self.assertIn('takeover of plan', err)

    def test_planned(self):
        job = self.takeover('--planned', 'core')
        self.assertEqual('SUCCESS', job['state'], job['error'])
        self.assertTrue(all(r['ready'] for r in job['report']))
        # Its copies were made once the primary stopped: nothing was lost.
        self.assertEqual({0}, {r['rpo'] for r in job['report']})
        self.assertTrue(all(s.status == 'SHUTOFF'
                            for s in self.paris.compute.servers()))
        out, _err = self.verify()
        self.assertIn('no difference', out)

    def test_a_group_taken_over_is_refused(self):
        self.disaster()
        _out, err = self.geoflows('takeover', '--plan', self.plan,
                                  '--planned', expect=1)
        self.assertIn('group core already runs at site lyon since takeover '
                      'job', err)
        self.assertIn('geoflows job resume', err)
        _out, err = self.geoflows('takeover', '--plan', self.plan,
                                  '--dry-run', expect=1)
        self.assertIn('already runs at site lyon', err)

    def test_a_partial_takeover_says_what_to_do_next(self):
        [image] = self.lyon.image.images()
        self.lyon.image.delete_image(image.id)  # the cold firewall's
        job = self.disaster(expect=1)
        self.assertEqual('PARTIAL', job['state'])
        self.assertIn('core/fw:', job['failed'])
        self.assertIn('core.chain.edge', job['skipped'])
        self.assertIn('geoflows job resume %s' % job['id'], job['next'])
        vnfs = self.by_vnf(job)
        self.assertFalse(vnfs['fw']['ready'])
        self.assertIsNone(vnfs['fw']['rto'])
        self.assertTrue(vnfs['hss']['ready'])
        shown = self.json('job', 'show', job['id'])
        self.assertEqual(job['next'], shown['next'])


class TestRefusals(TakeoverCommandTestCase):

    def refused(self, *argv):
        _out, err = self.geoflows('takeover', '--plan', self.plan, *argv,
                                  expect=1)
        return err

    def test_a_mode_exactly(self):
        self.assertIn('give --planned (the primary answers', self.refused())
        self.assertIn('not both', self.refused('--planned', '--disaster'))
        self.assertIn('confirm that the primary is lost (--confirm-primary-'
                      'lost)', self.refused('--disaster'))
        self.assertIn('a planned takeover needs the primary',
                      self.refused('--planned', '--confirm-primary-lost'))

    def test_checkpoints(self):
        cid = self.json('checkpoint', 'list', '--plan',
                        self.plan)[0]['ID']
        self.assertIn('a checkpoint is chosen only for a disaster',
                      self.refused('--planned', '--checkpoint', cid))
        self.assertIn("no checkpoint 'feedbeef'", self.refused(
            '--disaster', '--confirm-primary-lost', '--checkpoint',
            'feedbeef'))
        for bad in ('x' * 100000, 'ab', '../../etc', '1234 5678'):
            self.assertRaises(SystemExit, self.geoflows, 'takeover',
                              '--plan', self.plan, '--disaster',
                              '--checkpoint', bad)
            self.assertIn('is not a checkpoint id', sys.stderr.getvalue())
            self.assertLess(len(sys.stderr.getvalue()), 2000)
        job = self.takeover('--disaster', '--confirm-primary-lost',
                            '--checkpoint', cid[:8], 'core')
        self.assertEqual('SUCCESS', job['state'], job['error'])

    def test_groups(self):
        self.assertIn("has no protection group 'nope'",
                      self.refused('--planned', 'nope'))
        for bad in ('A' * 100000, 'core;rm', '-x-', ''):
            self.assertRaises(SystemExit, self.geoflows, 'takeover',
                              '--plan', self.plan, '--planned', '--', bad)
            self.assertIn('is not a protection group name',
                          sys.stderr.getvalue())
            self.assertLess(len(sys.stderr.getvalue()), 2000)
        for argv in (('takeover', '--plan', 'x' * 100000, '--planned'),
                     ('protection', 'verify', '--plan', 'x' * 5000),
                     ('protection', 'fence', '--plan', 'p\0', 'core')):
            self.assertRaises(SystemExit, self.geoflows, *argv)
            self.assertIn('is not a plan file', sys.stderr.getvalue())
            self.assertLess(len(sys.stderr.getvalue()), 2000)
        self.assertEqual([], [j for j in self.json('job', 'list')
                              if j['Operation'] == 'takeover'])


class TestDryRun(TakeoverCommandTestCase):

    def test_steps_and_predicted_rto(self):
        found = self.takeover('--dry-run')
        self.assertEqual('every VNF within its target', found['verdict'])
        vnfs = {row['vnf']: row for row in found['vnfs']}
        # By priority, then by the instant each starts.
        self.assertEqual(['hss', 'fw', 'pgw'],
                         [r['vnf'] for r in found['vnfs']])
        kinds = {name: [s['kind'] for s in row['steps']]
                 for name, row in vnfs.items()}
        self.assertEqual(['lookup', 'restore', 'port', 'boot', 'active',
                          'attach'], kinds['fw'])
        self.assertNotIn('boot', kinds['pgw'])
        # Priority 2 starts once priority 1 is ready (hss is in no chain:
        # ready when its own steps are done, as the report measures it).
        self.assertGreater(vnfs['pgw']['start'], vnfs['hss']['start'])
        self.assertEqual(vnfs['hss']['ready'], vnfs['pgw']['start'])
        self.assertEqual([900], list({r['target'] for r in vnfs.values()}))
        [group] = found['groups']
        self.assertEqual('core', group['group'])
        self.assertEqual("the last sync's backups",
                         group['times']['restore'][1])
        # Nothing was made, nothing was started.
        self.assertEqual([], [j for j in self.json('job', 'list')
                              if j['Operation'] == 'takeover'])
        self.assertEqual({'hss-1', 'hss-2', 'pgw-1', 'pgw-2'},
                         {s.name for s in self.lyon.compute.servers()})

    def test_a_vnf_over_its_target(self):
        self.plan = self.write_plan(rto='5s', rpo='10m')
        out, _err = self.geoflows('takeover', '--plan', self.plan,
                                  '--disaster', '--dry-run', expect=1)
        self.assertRegex(out, r'\| core +\| fw +\| 2 +\| cold .*'
                              r'\| 5 +\| OVER +\|')
        self.assertIn('over target: core/', out)
        found = self.takeover('--dry-run', expect=1)
        over = {r['vnf'] for r in found['vnfs'] if r['exceeds']}
        self.assertIn('fw', over)
        self.assertEqual(over, {r['vnf'] for r in found['vnfs']
                                if r['ready'] > 5})

    def test_planned_says_what_is_not_predicted(self):
        found = self.takeover('--planned', '--dry-run')
        self.assertIn('final copies first (not predicted)', found['note'])

    def test_a_disaster_counts_the_fence(self):
        found = self.takeover('--disaster', '--dry-run')
        self.assertIn('fence_timeout', found['note'])
        [group] = found['groups']
        self.assertEqual('default', group['times']['fence'][1])


class TestVerify(TakeoverCommandTestCase):

    def test_before_a_takeover_the_standbys(self):
        out, _err = self.verify()
        self.assertIn('group core at lyon (before a takeover: the standbys '
                      '(hss, pgw)', out)
        self.assertIn('no difference', out)

    def test_after_a_takeover_every_difference(self):
        self.disaster()
        out, _err = self.verify('core')
        self.assertIn('taken over: every VNF and chain', out)
        self.assertIn('no difference', out)
        net = self.lyon.network
        chained = {i for pair in net.sfc_port_pairs()
                   for i in (pair.ingress, pair.egress)}
        port = [p for p in net.ports() if (p.name or '').startswith('fw-1')
                and p.id not in chained][0]
        networks = {n.id: n.name for n in net.networks()}
        net.delete_port(port.id)
        out, _err = self.verify(expect=1)
        self.assertIn('VNF fw: server fw-1: port %s on network %s is '
                      'missing' % (port.name, networks[port.network_id]),
                      out)

    def test_arguments(self):
        cid = self.json('checkpoint', 'list', '--plan', self.plan)[0]['ID']
        out, _err = self.verify('--checkpoint', cid, 'core')
        self.assertIn('checkpoint %s: no difference' % cid, out)
        _out, err = self.verify('nope', expect=1)
        self.assertIn("has no protection group 'nope'", err)
        _out, err = self.verify('--checkpoint', 'abcd1234', expect=1)
        self.assertIn("no checkpoint 'abcd1234'", err)
        self.assertRaises(SystemExit, self.verify, '--checkpoint', 'z' * 500)


class TestFence(TakeoverCommandTestCase):

    def fence(self, *options, expect=0):
        return self.json('protection', 'fence', '--plan', self.plan,
                         *options, expect=expect)

    def not_fenced(self):
        self.unreachable_primary()
        job = self.disaster()
        self.assertEqual('SUCCESS', job['state'], job['error'])
        self.assertEqual(6, len(list(self.lyon.compute.servers())))

    def assertRefused(self, *command):
        _out, err = self.geoflows(*(command + ('--plan', self.plan)),
                                  expect=1)
        self.assertIn('group core is not fenced: its VNFs may still run at '
                      'the primary paris', err)
        self.assertIn('"geoflows protection fence --plan %s core")'
                      % self.plan, err)
        self.assertIn('core --confirm-fenced")', err)

    def test_not_fenced_is_shown_and_refused(self):
        self.not_fenced()
        rows = self.status(0, '--no-dr-site')
        self.assertEqual({'not fenced'}, {r['Fence'] for r in rows})
        _out, err = self.geoflows('protection', 'status', '--plan',
                                  self.plan, '--no-dr-site')
        self.assertIn('group core is not fenced', err)
        self.assertRefused('protect')
        self.assertRefused('sync')
        # Still unreachable: still not fenced, and the command says so.
        [row] = self.fence('core', expect=1)
        self.assertEqual('not fenced', row['Fence'])
        self.assertIn('could not be fenced', row['Detail'])
        self.assertRefused('sync')
        # It answers again: fenced now, its servers stopped.
        self.primary_answers()
        [row] = self.fence('core')
        self.assertEqual('fenced', row['Fence'])
        self.assertIsNotNone(row['Job'])
        self.assertTrue(all(s.status == 'SHUTOFF'
                            for s in self.paris.compute.servers()))
        self.assertTrue(all(p.is_admin_state_up is False
                            for p in self.paris.network.ports()
                            if p.device_owner == 'compute:nova'))
        self.assertEqual({'fenced'}, {r['Fence'] for r in
                                      self.status(0, '--no-dr-site')})

    def test_confirmed_by_the_operator(self):
        self.not_fenced()
        active = [s.name for s in self.paris.compute.servers()
                  if s.status == 'ACTIVE']
        [row] = self.fence('core', '--confirm-fenced')
        self.assertEqual('fenced', row['Fence'])
        self.assertIn('confirmed fenced by the operator', row['Detail'])
        self.assertIsNone(row['Job'])
        # The primary was not called.
        self.assertEqual(active, [s.name for s in
                                  self.paris.compute.servers()
                                  if s.status == 'ACTIVE'])
        self.assertEqual({'fenced'}, {r['Fence'] for r in
                                      self.status(0, '--no-dr-site')})

    def test_a_group_its_primary_serves_is_not_fenced(self):
        _out, err = self.geoflows('protection', 'fence', '--plan',
                                  self.plan, 'core', expect=1)
        self.assertIn('group core is served by its primary paris (no '
                      'takeover): fencing it would stop its service', err)
        self.assertTrue(all(s.status == 'ACTIVE'
                            for s in self.paris.compute.servers()))
        self.assertRaises(SystemExit, self.geoflows, 'protection', 'fence',
                          '--plan', self.plan)


class TestBeforeAnyCheckpoint(test_protection.ProtectionCommandTestCase):

    def test_nothing_to_predict_verify_or_take_over_from(self):
        job = self.json('protect', '--plan', self.plan)
        self.assertEqual('SUCCESS', job['state'], job['error'])
        for argv in (('takeover', '--plan', self.plan, '--dry-run'),
                     ('protection', 'verify', '--plan', self.plan)):
            _out, err = self.geoflows(*argv, expect=1)
            self.assertIn('group core has no complete checkpoint: sync it '
                          'first', err)
        _out, err = self.geoflows('takeover', '--plan', self.plan,
                                  '--disaster', '--confirm-primary-lost',
                                  expect=1)
        self.assertIn('group core has no complete checkpoint: sync it first',
                      err)
        self.assertEqual([], [j for j in self.json('job', 'list')
                              if j['Operation'] == 'takeover'])
