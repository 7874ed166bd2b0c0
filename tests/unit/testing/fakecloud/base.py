"""What the tests of the fake cloud share: a site and quick builders."""

from openstack import exceptions as os_exc

from geoflows.testing import fakecloud
from tests.unit import base

PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNvbWUtdGVzdC1rZXktYnl0'
              'ZXMtMzItbG9uZy4uLi4u test@geoflows')


class FakeCloudTestCase(base.TestCase):
    """A test on site ``paris`` of a fresh fake cloud (and ``lyon``)."""

    def setUp(self):
        super().setUp()
        self.clouds = fakecloud.FakeClouds()
        self.site = self.clouds.site('telco', 'paris')
        self.net = self.site.network
        self.compute = getattr(self.site, 'compute', None)
        self.storage = getattr(self.site, 'block_storage', None)
        self.images = getattr(self.site, 'image', None)

    def other_site(self):
        return self.clouds.site('telco', 'lyon')

    def assertHttpError(self, status, message, call, *args, **kwargs):
        """``call`` raises the SDK error of ``status``, with ``message``."""
        error = self.assertRaises(os_exc.HttpException, call, *args,
                                  **kwargs)
        self.assertEqual(status, error.status_code)
        self.assertIn(message, error.details)
        return error

    def make_network(self, name='net', cidr='10.7.0.0/24', site=None,
                     **subnet):
        net = (site or self.site).network
        network = net.create_network(name=name)
        net.create_subnet(network.id, cidr, name=name, **subnet)
        return network

    def make_port(self, network, site=None, **attrs):
        return (site or self.site).network.create_port(network.id, **attrs)
