"""What the tests of the fake cloud share: a site and quick builders."""

from openstack import exceptions as os_exc

from geoflows.testing import fakecloud
from tests.unit import base

# Made by ssh-keygen -t ed25519, whose MD5 fingerprint (ssh-keygen -l -E md5)
# is PUBLIC_KEY_MD5.
PUBLIC_KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINOLt4914x426ILe/Sh5/'
              'xmQKYn5DHYbz7EEaYDO+bV0 test@geoflows')
PUBLIC_KEY_MD5 = 'fe:a0:bf:e8:26:50:11:02:ac:80:02:0a:4c:9b:d5:8b'


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

    def make_flavor(self, name='small', vcpus=2, ram=2048, disk=10,
                    site=None):
        return (site or self.site).compute.create_flavor(
            name=name, vcpus=vcpus, ram=ram, disk=disk)

    def make_image(self, name='cirros', data=b'image bytes', site=None,
                   **attrs):
        images = (site or self.site).image
        image = images.create_image(name, data=data, disk_format='raw',
                                    container_format='bare', **attrs)
        return images.get_image(image.id)

    def boot(self, name='vnf', networks=None, flavor=None, image=None,
             **attrs):
        """A server on a port of a network of its own, or on ``networks``."""
        if networks is None:
            networks = [{'port': self.make_port(self.make_network(
                'net-%s' % name, '10.20.0.0/24')).id}]
        return self.compute.create_server(
            name=name, flavor_id=(flavor or self.make_flavor(
                'flavor-%s' % name)).id,
            image_id=(image or self.make_image('image-%s' % name)).id,
            networks=networks, **attrs)
