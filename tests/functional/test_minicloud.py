"""The two-region minicloud itself: a smoke test through openstacksdk.

The smoke test (100 s) runs with GEOFLOWS_TEST_SMOKE=1.
"""

import os

import openstack
import openstack.config

from geoflows.testing.minicloud import cloud
from geoflows.testing.minicloud import smoke
from tests.functional import base


class TestMinicloud(base.FunctionalTestCase):

    def connect(self, cloud):
        config = openstack.config.OpenStackConfig(
            config_files=[self.clouds_yaml])
        conn = openstack.connection.Connection(
            config=config.get_one(cloud=cloud))
        self.addCleanup(conn.close)
        return conn

    def test_smoke_both_regions(self):
        if not os.environ.get('GEOFLOWS_TEST_SMOKE'):
            # 100 s; the protection, image and takeover tests drive the
            # same APIs of both regions (servers, volumes, backups across
            # regions, images, BGPVPN, SFC) harder.
            self.skipTest('the smoke test of both regions runs with '
                          'GEOFLOWS_TEST_SMOKE=1 (or "geoflows-minicloud '
                          'smoke")')
        clouds = {'RegionOne': 'site-a', 'RegionTwo': 'site-b'}
        # GEOFLOWS_MINICLOUD_HOME: set by "geoflows-minicloud run".
        timings = smoke.run(lambda region: self.connect(clouds[region]),
                            cloud.Minicloud())
        for region in clouds:
            self.assertIn('2 servers ACTIVE', timings[region])
            self.assertIn('restore', timings[region])
            self.assertIn('vpn site connection', timings[region])
        across = timings['RegionOne->RegionTwo']
        for step in ('restore full', 'restore incremental',
                     'delete the records in both', 'volume from image'):
            self.assertIn(step, across)
        self.record_measurement(smoke=timings)

    def test_regions_are_independent(self):
        one, two = self.connect('site-a'), self.connect('site-b')
        self.assertEqual(['RegionOne', 'RegionTwo'],
                         sorted(r.id for r in one.identity.regions()))
        net = one.network.create_network(name='%s-only-one' % self.name)
        self.addCleanup(one.network.delete_network, net)
        self.assertIsNone(two.network.find_network(net.name))
        self.assertNotEqual(
            [h.name for h in one.compute.hypervisors()],
            [h.name for h in two.compute.hypervisors()])

    def test_demo_project_is_not_admin(self):
        demo = self.connect('site-a-demo')
        admin = self.connect('site-a')
        net = demo.network.create_network(name='%s-demo' % self.name)
        self.addCleanup(demo.network.delete_network, net)
        self.assertNotEqual(admin.current_project_id, net.project_id)
        self.assertEqual(demo.current_project_id, net.project_id)
        self.assertRaises(openstack.exceptions.ForbiddenException,
                          lambda: list(demo.identity.users()))
