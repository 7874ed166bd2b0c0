"""Connections to the sites of a plan, and OpenStack errors made readable.

A site names a cloud of clouds.yaml and, optionally, a region.  One
openstacksdk connection is kept per (cloud, region) and shared by the steps
of a process (keystoneauth sessions are thread-safe).
"""

import contextlib
import os
import threading

from keystoneauth1 import exceptions as ksa_exc
import openstack
import openstack.config
from openstack.config import exceptions as config_exc
from openstack import exceptions as os_exc

from geoflows import exceptions
from geoflows import secrets

NotFound = os_exc.NotFoundException


class Clouds(object):

    def __init__(self, config_file=None, api_timeout=60, connect_retries=2):
        self.config_file = config_file
        self.api_timeout = api_timeout
        self.connect_retries = connect_retries
        self._connections = {}
        self._lock = threading.Lock()
        self._config = None

    def _openstack_config(self):
        if self._config is None:
            files = [self.config_file] if self.config_file else None
            self._config = openstack.config.OpenStackConfig(
                config_files=files)
        return self._config

    def connection(self, site):
        """The connection of ``site`` (a site spec dict)."""
        key = (site['cloud'], site.get('region'))
        with self._lock:
            conn = self._connections.get(key)
            if conn is not None:
                return conn
            try:
                config = self._openstack_config().get_one(
                    cloud=site['cloud'], region_name=site.get('region'),
                    api_timeout=self.api_timeout,
                    connect_retries=self.connect_retries)
            except config_exc.OpenStackConfigException as e:
                raise exceptions.SiteError(site['name'], (
                    'cloud %r: %s (clouds.yaml: %s)' % (
                        site['cloud'], e, self._where())))
            conn = openstack.connection.Connection(config=config)
            self._connections[key] = conn
            return conn

    def _where(self):
        if self.config_file:
            return '%s, from [clouds] config_file' % self.config_file
        if os.environ.get('OS_CLIENT_CONFIG_FILE'):
            return '%s, from OS_CLIENT_CONFIG_FILE' % os.environ[
                'OS_CLIENT_CONFIG_FILE']
        return ('the openstacksdk search path (./clouds.yaml, '
                '~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)'
                '; set [clouds] config_file or OS_CLIENT_CONFIG_FILE')

    def proxy(self, site, service):
        """The ``service`` proxy of ``site`` (``network``, ``compute``...).

        openstacksdk makes a proxy on first use by asking the service's
        versions, which authenticates: a site that does not answer fails
        here, and is named with the fix.
        """
        conn = self.connection(site)
        try:
            return getattr(conn, service)
        except (os_exc.SDKException, ksa_exc.ClientException) as e:
            raise exceptions.SiteError(site['name'], secrets.mask(
                'cannot reach its %s API (cloud %r of %s): %s' % (
                    service.replace('_', ' '), site['cloud'], self._where(),
                    describe_error(e)))) from None

    def network(self, site):
        return self.proxy(site, 'network')

    def compute(self, site):
        return self.proxy(site, 'compute')

    def block_storage(self, site):
        return self.proxy(site, 'block_storage')

    def image(self, site):
        return self.proxy(site, 'image')

    def close(self):
        with self._lock:
            for conn in self._connections.values():
                conn.close()
            self._connections.clear()


def describe_error(error):
    """A one-line, secret-free description of an OpenStack client error."""
    if isinstance(error, (ksa_exc.ConnectFailure, ksa_exc.ConnectTimeout,
                          ksa_exc.DiscoveryFailure)):
        return ('cannot reach the API (%s); is the service running, and is '
                'the endpoint in clouds.yaml right?' % type(error).__name__)
    if isinstance(error, ksa_exc.EndpointNotFound):
        return ('the service catalog has no such endpoint; check the region '
                'of the site and the cloud\'s catalog')
    if isinstance(error, os_exc.HttpException):
        details = (error.details or '').strip()
        return 'HTTP %s: %s' % (error.status_code,
                                details or error.message)
    if isinstance(error, ksa_exc.ClientException):
        return '%s: %s' % (type(error).__name__, error)
    if isinstance(error, os_exc.SDKException):
        return str(error)
    return '%s: %s' % (type(error).__name__, error)


@contextlib.contextmanager
def api_errors(site_name, action):
    """Turn OpenStack client errors into :class:`SiteError` messages.

    ``NotFoundException`` passes through: callers decide whether a missing
    resource is a problem.
    """
    try:
        yield
    except NotFound:
        raise
    except exceptions.GeoflowsError:
        raise
    except (os_exc.SDKException, ksa_exc.ClientException) as e:
        message = secrets.mask('%s: %s' % (action, describe_error(e)))
        raise exceptions.SiteError(site_name, message) from None
