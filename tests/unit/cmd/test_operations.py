"""The interconnect and job commands, run in-process on a fake cloud."""

import io
import json
import logging
import os

import fixtures

from geoflows.cmd import main
from geoflows.testing import fakecloud
from tests.unit import base


class CommandTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clouds = fakecloud.FakeClouds()
        self.useFixture(fixtures.MockPatch('geoflows.clouds.Clouds',
                                           lambda **kwargs: self.clouds))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_DEFAULT__STATE_DIR', os.path.join(self.tmp, 'state')))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_IPSEC__ACTIVE_INTERVAL', '0'))
        root = logging.getLogger()
        self.addCleanup(root.setLevel, root.level)
        self.addCleanup(setattr, root, 'handlers', list(root.handlers))

    def geoflows(self, *argv, expect=0):
        """Run the command; return (stdout, stderr)."""
        stdout = self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', io.StringIO())).new_value
        stderr = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        rc = main.main(list(argv))
        output = stdout.getvalue(), stderr.getvalue()
        self.assertEqual(expect, rc, output)
        self.assertNotIn('Traceback', output[0] + output[1])
        return output

    def json(self, *argv, expect=0):
        return json.loads(self.geoflows(*(argv + ('-f', 'json')),
                                        expect=expect)[0])

    def setup(self, *names, expect=0, options=()):
        return self.json('interconnect', 'setup', '--plan', base.EXAMPLE_PLAN,
                         *(tuple(options) + names), expect=expect)


class TestInterconnectCommands(CommandTestCase):

    def test_setup_check_teardown(self):
        job = self.setup()
        self.assertEqual('SUCCESS', job['state'])
        self.assertEqual(['core-vpn', 'oam-ipsec', 'cells'], job['units'])
        self.assertEqual({'created'}, {r['action'] for r in job['resources']})
        check = self.json('interconnect', 'check', '--plan',
                          base.EXAMPLE_PLAN)
        self.assertEqual([], check['findings'])
        down = self.json('interconnect', 'teardown', '--plan',
                         base.EXAMPLE_PLAN)
        self.assertEqual({'deleted'}, {r['action'] for r in down['resources']})

    def test_check_exits_1_on_drift(self):
        self.setup('core-vpn')
        raw = self.clouds.site('telco', 'lyon')._raw_network
        [assoc] = raw.resources('bgpvpn_network_association')
        raw.delete_bgpvpn_network_association(None, assoc.id)
        check = self.json('interconnect', 'check', '--plan',
                          base.EXAMPLE_PLAN, 'core-vpn', expect=1)
        self.assertEqual('SUCCESS', check['state'])
        [finding] = check['findings']
        self.assertEqual(('core-vpn', 'lyon', 'is missing'),
                         (finding['interconnect'], finding['site'],
                          finding['problem']))

    def test_progress_shows_each_step(self):
        _out, err = self.geoflows('interconnect', 'setup', '--plan',
                                  base.EXAMPLE_PLAN, 'core-vpn',
                                  '--progress')
        self.assertIn('interconnect.setup of plan', err)
        lines = [line.split() for line in err.splitlines()]
        self.assertIn(['core-vpn', 'local.bgpvpn', 'RUNNING'],
                      [words[1:4] for words in lines])
        self.assertIn(['core-vpn', 'local.bgpvpn', 'SUCCESS'],
                      [words[1:4] for words in lines])

    def test_table_output(self):
        out, _err = self.geoflows('interconnect', 'setup', '--plan',
                                  base.EXAMPLE_PLAN, 'core-vpn')
        self.assertIn('| state ', out)
        self.assertIn('SUCCESS', out)
        self.assertIn('gf-telco-east-core-vpn', out)

    def test_failure_exits_1_and_says_why(self):
        self.clouds.site('telco', 'lyon').fail('create_bgpvpn')
        job = self.setup('core-vpn', expect=1)
        self.assertEqual('REVERTED', job['state'])
        self.assertIn("step remote.bgpvpn failed: site 'lyon'", job['error'])

    def test_keep_on_failure_then_resume_and_revert(self):
        self.clouds.site('telco', 'lyon').fail('create_bgpvpn')
        job = self.setup('core-vpn', expect=1,
                         options=['--keep-on-failure'])
        self.assertEqual('FAILED', job['state'])
        resumed = self.json('job', 'resume', job['id'])
        self.assertEqual('SUCCESS', resumed['state'])
        reverted = self.json('job', 'revert', job['id'][:8])
        self.assertEqual('REVERTED', reverted['state'])
        # A second revert is refused.
        _out, err = self.geoflows('job', 'revert', job['id'], expect=1)
        self.assertIn('is already reverted', err)

    def test_an_invalid_plan(self):
        path = os.path.join(self.tmp, 'bad.yaml')
        with open(path, 'w') as f:
            f.write('version: 1\nname: x\nsites: {a: {cloud: c}}\n'
                    'interconnects: [{name: i}]\n')
        _out, err = self.geoflows('interconnect', 'setup', '--plan', path,
                                  expect=1)
        self.assertIn("interconnects[0]: 'local' is required here", err)

    def test_an_unknown_interconnect(self):
        _out, err = self.geoflows('interconnect', 'setup', '--plan',
                                  base.EXAMPLE_PLAN, 'nope', expect=1)
        self.assertIn("plan 'telco-east' has no interconnect 'nope'", err)


class TestJobCommands(CommandTestCase):

    def test_list_and_show(self):
        first = self.setup('core-vpn')
        second = self.json('interconnect', 'check', '--plan',
                           base.EXAMPLE_PLAN, 'core-vpn')
        listed = self.json('job', 'list')
        self.assertEqual([second['id'], first['id']],
                         [j['ID'] for j in listed])
        self.assertEqual(['interconnect.check', 'interconnect.setup'],
                         [j['Operation'] for j in listed])
        only = self.json('job', 'list', '--state', 'SUCCESS', '--limit', '1')
        self.assertEqual([second['id']], [j['ID'] for j in only])

        shown = self.json('job', 'show', first['id'][:6])
        self.assertEqual(first['id'], shown['id'])
        self.assertEqual(first['plan_digest'], shown['plan_digest'])
        names = [step['step'] for step in shown['steps']]
        self.assertIn('local.bgpvpn', names)
        for step in shown['steps']:
            self.assertEqual('SUCCESS', step['state'])
            self.assertIsNotNone(step['duration'])

    def test_show_as_a_table(self):
        job = self.setup('core-vpn')
        out, _err = self.geoflows('job', 'show', job['id'])
        self.assertIn('steps', out)
        self.assertIn('remote.bgpvpn.network.dr-infra-lyon', out)

    def test_unknown_job(self):
        _out, err = self.geoflows('job', 'show', 'no-such-job', expect=1)
        self.assertIn("no job 'no-such-job'", err)

    def test_abort_of_a_finished_job(self):
        job = self.setup('core-vpn')
        _out, err = self.geoflows('job', 'abort', job['id'], expect=1)
        self.assertIn('is not running (SUCCESS)', err)
        self.assertIn('geoflows job revert %s' % job['id'], err)

    def test_resume_of_a_finished_job(self):
        job = self.setup('core-vpn')
        _out, err = self.geoflows('job', 'resume', job['id'], expect=1)
        self.assertIn('there is nothing to resume', err)
