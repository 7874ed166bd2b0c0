"""protect, sync, protection status and checkpoint commands, in-process.

The sample VNFs run at the fake site paris; the group protects them at
lyon (see tests/unit/test_protection_jobs.py for the jobs themselves).
"""

import argparse
import datetime
import os
import sys

import yaml

from geoflows import checkpoints
from geoflows.cmd import protection as protection_cmd
from geoflows.testing import sample
from tests.unit import base
from tests.unit.cmd import test_operations


class ProtectionCommandTestCase(test_operations.CommandTestCase):

    def setUp(self):
        super().setUp()
        self.paris = self.clouds.site('telco', 'paris')
        self.lyon = self.clouds.site('telco', 'lyon')
        sample.deploy(self.paris)
        self.plan = self.write_plan()

    def write_plan(self, **group):
        data = base.plan_data()
        data.update(yaml.safe_load(sample.group_yaml(
            primary='paris', dr='lyon', **group)))
        path = os.path.join(self.tmp, 'plan.yaml')
        with open(path, 'w') as f:
            yaml.safe_dump(data, f)
        return path

    def status(self, expect=0, *options):
        return self.json('protection', 'status', '--plan', self.plan,
                         *options, expect=expect)


class TestProtectAndSync(ProtectionCommandTestCase):

    def test_protect_sync_status(self):
        job = self.json('protect', '--plan', self.plan)
        self.assertEqual('SUCCESS', job['state'], job['error'])
        again = self.json('protect', '--plan', self.plan)
        self.assertEqual('SUCCESS', again['state'])
        self.assertNotIn('created', {r['action'] for r in
                                     again.get('resources', ())})
        # Not synced yet: no copy, so every RPO is violated.
        rows = self.status(1)
        self.assertEqual({'VIOLATED'}, {r['State'] for r in rows})
        sync = self.json('sync', '--plan', self.plan)
        self.assertEqual('SUCCESS', sync['state'], sync['error'])
        rows = self.status(0)
        by_vnf = {r['VNF']: r for r in rows}
        self.assertEqual({'hss', 'pgw', 'fw'}, set(by_vnf))
        for row in rows:
            self.assertEqual('OK', row['State'], row)
            self.assertLess(row['RPO (s)'], 60)
            self.assertIsNotNone(row['Checkpoint'])
        self.assertEqual('none', by_vnf['fw']['Standby state'])
        hot = [v for v, r in by_vnf.items() if r['Standby'] == 'hot']
        self.assertTrue(hot)
        for vnf in hot:
            self.assertRegex(by_vnf[vnf]['Standby state'], r'^ACTIVE \d+/\d+$')
        quiet = self.status(0, '--no-dr-site')
        self.assertEqual([None], list({r['Standby state'] for r in quiet}))

    def test_a_copy_older_than_the_target_is_violated(self):
        self.json('protect', '--plan', self.plan)
        self.json('sync', '--plan', self.plan)
        later = checkpoints.utcnow() + datetime.timedelta(hours=2)
        self.useFixture(test_operations.fixtures.MockPatch(
            'geoflows.checkpoints.utcnow', lambda: later))
        rows = self.status(1, '--no-dr-site')
        self.assertEqual({'VIOLATED'}, {r['State'] for r in rows})
        self.assertTrue(all(r['RPO (s)'] >= 7200 for r in rows))

    def test_sync_every_with_a_count(self):
        self.json('protect', '--plan', self.plan)
        job = self.json('sync', '--plan', self.plan, '--every', '1s',
                        '--count', '2')
        self.assertEqual('SUCCESS', job['state'])
        listed = self.json('checkpoint', 'list', '--plan', self.plan)
        self.assertEqual(2, len(listed))

    def test_bad_arguments_say_what_to_give(self):
        out, err = self.geoflows('sync', '--plan', self.plan, '--count', '2',
                                 expect=1)
        self.assertIn('--count goes with --every', err)
        self.assertRaises(SystemExit, self.geoflows, 'sync', '--plan',
                          self.plan, '--every', 'soon')
        self.assertIn("'soon' is not an interval", sys.stderr.getvalue())
        out, err = self.geoflows('protect', '--plan', self.plan, 'nope',
                                 expect=1)
        self.assertIn("has no protection group 'nope'", err)
        out, err = self.geoflows('protection', 'status', '--plan',
                                 self.plan, 'nope', expect=1)
        self.assertIn("has no protection group 'nope'", err)
        out, err = self.geoflows('checkpoint', 'show', 'feedbeef', expect=1)
        self.assertIn('checkpoint list', err)

    def test_interval_values(self):
        self.assertEqual(30, protection_cmd.interval('30'))
        self.assertEqual(300, protection_cmd.interval('5m'))
        for bad in ('0', '-5', 'x' * 100, '8d', ''):
            self.assertRaises(argparse.ArgumentTypeError,
                              protection_cmd.interval, bad)


class TestCheckpointCommands(ProtectionCommandTestCase):

    def synced(self):
        self.json('protect', '--plan', self.plan)
        return self.json('sync', '--plan', self.plan)

    def test_list_and_show(self):
        self.synced()
        [listed] = self.json('checkpoint', 'list', '--plan', self.plan)
        self.assertEqual('complete', listed['State'])
        self.assertEqual(3, listed['VNFs'])
        shown = self.json('checkpoint', 'show', listed['ID'][:8])
        self.assertEqual(listed['ID'], shown['id'])
        self.assertIn('backup', shown['copies'])
        self.assertEqual('none', shown['takeover_warnings'])
        by_name = self.json('checkpoint', 'list', '--plan-name',
                            base.make_plan().name)
        self.assertEqual([listed['ID']], [c['ID'] for c in by_name])

    def test_diff_shows_a_new_rule_and_an_incremental_copy(self):
        self.synced()
        net = self.paris.network
        [group] = net.security_groups(name='vnf-sg')
        net.create_security_group_rule(
            security_group_id=group.id, direction='ingress',
            ethertype='IPv4', protocol='tcp', port_range_min=9000,
            port_range_max=9000, remote_ip_prefix='192.0.2.0/24')
        self.json('sync', '--plan', self.plan)
        newest = self.json('checkpoint', 'list', '--plan', self.plan)[0]
        out, err = self.geoflows('checkpoint', 'diff', newest['ID'])
        self.assertIn('+ security group vnf-sg: rule ingress IPv4 tcp 9000 '
                      'from 192.0.2.0/24', out)
        self.assertIn('(incremental)', out)
        self.assertIn('nothing missing at the DR site', out)

    def test_takeover_warnings(self):
        self.synced()
        cid = self.json('checkpoint', 'list', '--plan', self.plan)[0]['ID']
        for flavor in list(self.lyon.compute.flavors()):
            if flavor.name == 'vnf-small':
                self.lyon.compute.delete_flavor(flavor.id)
        self.lyon.set_quota(instances=0)
        out, err = self.geoflows('checkpoint', 'diff', cid, cid)
        self.assertIn('no change of the metadata', out)
        self.assertIn('warning: flavor vnf-small', out)
        self.assertIn('instances:', out)
        out, err = self.geoflows('checkpoint', 'diff', cid, '--no-check',
                                 expect=1)
        self.assertIn('is the first of group', err)

    def test_diff_of_two_groups_is_refused(self):
        self.synced()
        cid = self.json('checkpoint', 'list', '--plan', self.plan)[0]['ID']
        out, err = self.geoflows('checkpoint', 'diff', cid, cid, cid,
                                 expect=1)
        self.assertIn('give two checkpoints', err)
