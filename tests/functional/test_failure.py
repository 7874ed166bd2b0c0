"""Failures of a real site during a job: nothing half-made is left."""

from tests.functional import base
from tests.functional import fixtures


class TestRemoteFailure(base.FunctionalTestCase):
    """The remote site's API fails in the middle of a setup."""

    def setUp(self):
        super().setUp()
        self.proxy = self.useFixture(fixtures.FaultProxy(
            self.network_url('site-b')))
        self.add_cloud('site-b-proxied', self.proxy.url)
        self.plan = self.write_plan(base.IPSEC, west_cloud='site-b-proxied')
        self.initial = self.snapshots()

    def test_a_failure_on_the_remote_site_reverts_both_sides(self):
        self.proxy.fail('POST', r'/v2.0/vpn/ipsec-site-connections$')
        job = self.run_job('interconnect', 'setup', '--plan', self.plan,
                           expect=1)
        self.assertEqual('REVERTED', job['state'])
        self.assertIn('oam: step remote.connection failed', job['error'])
        self.assertIn("site 'west'", job['error'])
        self.assertIn('HTTP 500', job['error'])
        # The local side had been built: it was undone, like the remote.
        self.assertIn(('POST', '/v2.0/vpn/vpnservices'), self.proxy.seen)
        self.assertEqual(self.initial, self.snapshots())

    def test_kept_failure_then_resume(self):
        self.proxy.fail('POST', r'/v2.0/vpn/ipsec-site-connections$')
        job = self.run_job('interconnect', 'setup', '--plan', self.plan,
                           '--keep-on-failure', expect=1)
        self.assertEqual('FAILED', job['state'])
        self.assertNotEqual(self.initial, self.snapshots())
        resumed = self.geoflows('job', 'resume', job['id'], '-f',
                                'json').json
        self.assertEqual('SUCCESS', resumed['state'])
        self.run_job('interconnect', 'check', '--plan', self.plan)
        self.run_job('interconnect', 'teardown', '--plan', self.plan)
        self.assertEqual(self.initial, self.snapshots())

    def test_a_failed_undo_is_reported_and_can_be_repeated(self):
        job = self.run_job('interconnect', 'setup', '--plan', self.plan)
        self.proxy.fail('DELETE', r'/v2.0/vpn/vpnservices/', times=1)
        reverted = self.geoflows('job', 'revert', job['id'], '-f', 'json',
                                 expect=1).json
        self.assertEqual('FAILED', reverted['state'])
        self.assertIn('revert failed', reverted['error'])
        self.assertIn('undoing step remote.vpnservice failed',
                      reverted['error'])
        reverted = self.geoflows('job', 'revert', job['id'], '-f',
                                 'json').json
        self.assertEqual('REVERTED', reverted['state'])
        self.assertEqual(self.initial, self.snapshots())

    def test_a_failed_teardown_can_be_run_again(self):
        self.run_job('interconnect', 'setup', '--plan', self.plan)
        self.proxy.fail('DELETE', r'/v2.0/routers/', times=1)
        failed = self.run_job('interconnect', 'teardown', '--plan',
                              self.plan, expect=1)
        self.assertIn('delete router', failed['error'])
        self.run_job('interconnect', 'teardown', '--plan', self.plan)
        self.assertEqual(self.initial, self.snapshots())


class TestUnusableSites(base.FunctionalTestCase):

    def test_an_unreachable_site(self):
        self.add_cloud('site-down', 'http://127.0.0.1:9/')
        plan = self.write_plan(base.BGPVPN, west_cloud='site-down')
        initial = self.snapshot('site-a')
        job = self.run_job('interconnect', 'setup', '--plan', plan,
                           expect=1)
        self.assertEqual('REVERTED', job['state'])
        self.assertIn("site 'west'", job['error'])
        self.assertIn('cannot reach the API', job['error'])
        self.assertEqual(initial, self.snapshot('site-a'))

    def test_an_unknown_cloud(self):
        plan = self.write_plan(base.BGPVPN, west_cloud='no-such-cloud')
        job = self.run_job('interconnect', 'setup', '--plan', plan,
                           expect=1)
        self.assertIn("cloud 'no-such-cloud'", job['error'])
        self.assertIn(self.clouds_yaml, job['error'])
        self.assertEqual([], self.duplicates('site-a'))

    def test_an_external_network_that_does_not_exist(self):
        plan = self.write_plan(base.IPSEC)
        with open(plan) as f:
            text = f.read().replace('external_network: public}',
                                    'external_network: internet}', 1)
        with open(plan, 'w') as f:
            f.write(text)
        initial = self.snapshots()
        job = self.run_job('interconnect', 'setup', '--plan', plan,
                           expect=1)
        self.assertIn("has no external network 'internet'", job['error'])
        self.assertEqual(initial, self.snapshots())
