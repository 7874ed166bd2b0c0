"""No secret in logs, outputs, error messages or the state store."""

import base64
import glob
import hashlib
import hmac
import json
import os
import uuid

from tests.functional import base
from tests.functional import fixtures


class TestSecrets(base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.log_file = os.path.join(self.tmp, 'geoflows.log')
        self.config = os.path.join(self.tmp, 'geoflows.conf')
        with open(self.config, 'w') as f:
            f.write('[DEFAULT]\nlog_file = %s\n' % self.log_file)
        self.outputs = []

    def debug_run(self, *args, expect=0):
        result = self.geoflows('--debug', '-vvv', '--config-file',
                               self.config, *args, expect=expect)
        self.outputs.append(result.stdout + result.stderr)
        return result

    def everything_written(self):
        """Every byte geoflows wrote: outputs, log, state store files."""
        texts = list(self.outputs)
        with open(self.log_file, 'rb') as f:
            texts.append(f.read().decode('utf-8', 'replace'))
        state_dir = self.env['OS_DEFAULT__STATE_DIR']
        for path in glob.glob(os.path.join(state_dir, 'geoflows.sqlite*')):
            with open(path, 'rb') as f:
                texts.append(f.read().decode('latin-1'))
        return texts

    def assertNowhere(self, secret):
        texts = self.everything_written()
        self.assertGreater(len(texts), 3)
        forms = {secret, json.dumps(secret)[1:-1]}
        for text in texts:
            for form in forms:
                self.assertNotIn(form, text)

    def connection_psk(self, cloud):
        [conn] = self.network(cloud).vpn_ipsec_site_connections(
            name='gf-%s-oam' % self.name)
        return conn.psk

    def test_a_key_from_the_environment(self):
        psk = 'psk-%s' % uuid.uuid4().hex
        self.env['GEOFLOWS_TEST_PSK'] = psk
        proxy = self.useFixture(fixtures.FaultProxy(
            self.network_url('site-b')))
        self.add_cloud('site-b-proxied', proxy.url)
        plan = self.write_plan(base.IPSEC, west_cloud='site-b-proxied',
                               psk='{env: GEOFLOWS_TEST_PSK}')
        # A failure on the way: error messages and the failure records
        # are searched too.
        proxy.fail('POST', r'/v2.0/vpn/ipsec-site-connections$')
        failed = self.debug_run('interconnect', 'setup', '--plan', plan,
                                '-f', 'json', expect=1)
        self.assertEqual('REVERTED', json.loads(failed.stdout)['state'])

        job = json.loads(self.debug_run('interconnect', 'setup', '--plan',
                                        plan, '-f', 'json').stdout)
        # The key did reach both sites.
        self.assertEqual(psk, self.connection_psk('site-a'))
        self.assertEqual(psk, self.connection_psk('site-b'))
        self.debug_run('interconnect', 'check', '--plan', plan)
        self.debug_run('job', 'show', job['id'], '-f', 'json')
        self.debug_run('job', 'list', '-f', 'json')
        self.debug_run('interconnect', 'teardown', '--plan', plan)
        self.assertIn('ipsec-site-connections', self.everything_written()[0])
        self.assertNowhere(psk)

    def test_a_derived_key(self):
        plan = self.write_plan(base.IPSEC)
        self.debug_run('interconnect', 'setup', '--plan', plan)
        master = os.path.join(self.env['OS_DEFAULT__STATE_DIR'],
                              'master.key')
        self.assertEqual(0o600, os.stat(master).st_mode & 0o777)
        with open(master, 'rb') as f:
            key = f.read().strip()
        derived = base64.urlsafe_b64encode(hmac.new(
            key, ('geoflows/v1/psk/%s/oam' % self.name).encode(),
            hashlib.sha256).digest()).decode().rstrip('=')
        self.assertEqual(derived, self.connection_psk('site-a'))
        self.assertEqual(derived, self.connection_psk('site-b'))
        self.debug_run('interconnect', 'check', '--plan', plan)
        self.debug_run('interconnect', 'teardown', '--plan', plan)
        self.assertNowhere(derived)
        self.assertNowhere(key.decode())
