"""Tests of site connections and of OpenStack error translation."""

import os
from unittest import mock
import uuid

import fixtures
from keystoneauth1 import exceptions as ksa_exc
from openstack import exceptions as os_exc

from geoflows import clouds
from geoflows import exceptions
from geoflows import secrets
from tests.unit import base

CLOUDS_YAML = '''
clouds:
  telco:
    auth_type: none
    network_endpoint_override: http://127.0.0.1:9/
    regions: [paris, lyon]
'''


def site(cloud='telco', region='paris', name='paris'):
    return {'name': name, 'cloud': cloud, 'region': region}


class TestClouds(base.TestCase):

    def setUp(self):
        super().setUp()
        for name in ('OS_CLIENT_CONFIG_FILE', 'OS_CLOUD', 'OS_AUTH_URL',
                     'OS_REGION_NAME'):
            self.useFixture(fixtures.EnvironmentVariable(name))
        # Building a connection must not touch the network.
        for target in ('socket.socket.connect', 'socket.create_connection'):
            self.useFixture(fixtures.MockPatch(
                target, side_effect=AssertionError('network I/O')))
        self.config_file = os.path.join(self.tmp, 'clouds.yaml')
        with open(self.config_file, 'w') as f:
            f.write(CLOUDS_YAML)
        self.clouds = clouds.Clouds(config_file=self.config_file)
        self.addCleanup(self.clouds.close)

    def test_unknown_cloud_is_site_error_naming_cloud_and_file(self):
        error = self.assertRaises(exceptions.SiteError,
                                  self.clouds.connection, site('nowhere'))

        self.assertEqual('paris', error.site)
        self.assertIn("cloud 'nowhere'", str(error))
        self.assertIn(self.config_file, str(error))

    def test_unknown_cloud_without_config_file_says_how_to_set_one(self):
        default = clouds.Clouds()

        error = self.assertRaises(exceptions.SiteError, default.connection,
                                  site('nowhere-%s' % uuid.uuid4().hex))

        self.assertIn('[clouds] config_file', str(error))
        self.assertIn('OS_CLIENT_CONFIG_FILE', str(error))

    def test_unknown_cloud_names_the_file_of_the_environment(self):
        self.useFixture(fixtures.EnvironmentVariable('OS_CLIENT_CONFIG_FILE',
                                                     self.config_file))
        error = self.assertRaises(exceptions.SiteError,
                                  clouds.Clouds().connection,
                                  site('nowhere'))
        self.assertIn('%s, from OS_CLIENT_CONFIG_FILE' % self.config_file,
                      str(error))

    def test_unknown_region_is_site_error(self):
        error = self.assertRaises(exceptions.SiteError,
                                  self.clouds.connection,
                                  site(region='berlin', name='berlin'))

        self.assertIn('berlin', str(error))
        self.assertIn(self.config_file, str(error))

    def test_known_cloud_gives_a_connection_to_its_endpoint(self):
        conn = self.clouds.connection(site())

        self.assertEqual('http://127.0.0.1:9/',
                         conn.config.get_endpoint('network'))
        self.assertEqual('paris', conn.config.region_name)

    def test_connection_is_cached_per_cloud_and_region(self):
        first = self.clouds.connection(site())

        self.assertIs(first, self.clouds.connection(site(name='other')))

    def test_other_region_gets_its_own_connection(self):
        paris = self.clouds.connection(site())

        lyon = self.clouds.connection(site(region='lyon', name='lyon'))

        self.assertIsNot(paris, lyon)
        self.assertEqual('lyon', lyon.config.region_name)

    def test_proxies_are_those_of_the_connection(self):
        conn = mock.Mock()
        self.useFixture(fixtures.MockPatchObject(
            self.clouds, 'connection', return_value=conn))

        self.assertEqual(
            [conn.network, conn.compute, conn.block_storage, conn.image],
            [self.clouds.network(site()), self.clouds.compute(site()),
             self.clouds.block_storage(site()), self.clouds.image(site())])
        self.clouds.connection.assert_called_with(site())

    def test_a_site_that_does_not_answer_is_named_with_the_fix(self):
        class Unreachable(object):
            @property
            def compute(self):
                raise ksa_exc.DiscoveryFailure(
                    'Could not find versioned identity endpoints')
        self.useFixture(fixtures.MockPatchObject(
            self.clouds, 'connection', return_value=Unreachable()))

        error = self.assertRaises(exceptions.SiteError, self.clouds.compute,
                                  site())

        self.assertIn("site 'paris'", str(error))
        self.assertIn('cannot reach its compute API', str(error))
        self.assertIn('DiscoveryFailure', str(error))
        self.assertIn(self.config_file, str(error))

    def test_close_forgets_the_connections(self):
        first = self.clouds.connection(site())

        self.clouds.close()

        self.assertIsNot(first, self.clouds.connection(site()))


class TestDescribeError(base.TestCase):

    def test_connect_failure_says_the_api_is_unreachable(self):
        message = clouds.describe_error(ksa_exc.ConnectFailure('refused'))

        self.assertIn('cannot reach the API (ConnectFailure)', message)

    def test_connect_timeout_says_the_api_is_unreachable(self):
        message = clouds.describe_error(ksa_exc.ConnectTimeout('slow'))

        self.assertIn('cannot reach the API (ConnectTimeout)', message)

    def test_failed_version_discovery_says_the_api_is_unreachable(self):
        message = clouds.describe_error(ksa_exc.DiscoveryFailure('no doc'))

        self.assertIn('cannot reach the API (DiscoveryFailure)', message)

    def test_missing_endpoint_points_at_region_and_catalog(self):
        message = clouds.describe_error(ksa_exc.EndpointNotFound('x'))

        self.assertIn('no such endpoint', message)
        self.assertIn('region', message)

    def test_http_error_gives_status_and_details(self):
        error = os_exc.HttpException(message='x', http_status=500,
                                     details='boom')

        self.assertEqual('HTTP 500: boom', clouds.describe_error(error))

    def test_http_error_without_details_gives_its_message(self):
        error = os_exc.HttpException(message='Quota exceeded',
                                     http_status=409)

        self.assertEqual('HTTP 409: Quota exceeded',
                         clouds.describe_error(error))

    def test_keystoneauth_error_gives_its_type(self):
        error = ksa_exc.Unauthorized('The request requires authentication.')

        self.assertEqual('Unauthorized: The request requires '
                         'authentication. (HTTP 401)',
                         clouds.describe_error(error))

    def test_sdk_error_gives_its_message(self):
        self.assertEqual('no such extension', clouds.describe_error(
            os_exc.SDKException('no such extension')))


class TestApiErrors(base.TestCase):

    def raise_in(self, error, site_name='paris', action='create network'):
        """Raise ``error`` inside api_errors; return what came out."""
        try:
            with clouds.api_errors(site_name, action):
                raise error
        except Exception as e:
            return e
        self.fail('api_errors swallowed %r' % error)

    def test_connect_failure_becomes_site_error(self):
        raised = self.raise_in(ksa_exc.ConnectFailure('refused'))

        self.assertIsInstance(raised, exceptions.SiteError)
        self.assertEqual('paris', raised.site)
        self.assertIn("site 'paris': create network: cannot reach the API",
                      str(raised))

    def test_http_error_becomes_site_error_with_status(self):
        raised = self.raise_in(os_exc.HttpException(
            message='x', http_status=500, details='boom'))

        self.assertIsInstance(raised, exceptions.SiteError)
        self.assertEqual("site 'paris': create network: HTTP 500: boom",
                         str(raised))

    def test_not_found_passes_through_unchanged(self):
        error = os_exc.NotFoundException(message='no network',
                                         http_status=404)

        self.assertIs(error, self.raise_in(error))

    def test_geoflows_error_passes_through_unchanged(self):
        error = exceptions.NotReady('port not ACTIVE yet')

        self.assertIs(error, self.raise_in(error))

    def test_other_errors_pass_through_unchanged(self):
        error = KeyError('id')

        self.assertIs(error, self.raise_in(error))

    def test_registered_secret_is_masked_in_the_site_error(self):
        secret = uuid.uuid4().hex
        secrets.register(secret)

        raised = self.raise_in(os_exc.HttpException(
            message='x', http_status=400,
            details='Invalid input: psk_value %s' % secret))

        self.assertIsInstance(raised, exceptions.SiteError)
        self.assertNotIn(secret, str(raised))
        self.assertIn('Invalid input: psk_value ***', str(raised))

    def test_site_error_hides_the_original_exception(self):
        raised = self.raise_in(ksa_exc.ConnectFailure('refused'))

        self.assertTrue(raised.__suppress_context__)
        self.assertIsNone(raised.__cause__)

    def test_no_error_lets_the_block_finish(self):
        done = []

        with clouds.api_errors('paris', 'list networks'):
            done.append(True)

        self.assertEqual([True], done)
