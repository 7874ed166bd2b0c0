"""The sample VNFs on the fake cloud: all of them, or some servers."""

from geoflows.testing import sample
from tests.unit import base


class TestSample(base.CloudTestCase):

    def test_some_servers_only(self):
        site = self.site('paris')
        ids = sample.deploy(site, prefix='t-', servers=['hss-1', 'hss-2'])
        self.assertEqual({'t-hss-1', 't-hss-2'},
                         {s.name for s in site.compute.servers()})
        self.assertEqual(['t-hss-1-db'],
                         [v.name for v in site.block_storage.volumes()])
        self.assertEqual([], list(site.network.sfc_port_chains()))
        self.assertNotIn('edge', ids)
        sample.remove(site, prefix='t-')
        self.assertEqual([], list(site.compute.servers()))
        self.assertEqual([], [n for n in site.network.networks()
                              if n.name.startswith('t-')])

    def test_all_by_default_and_unknown_servers_refused(self):
        site = self.site('paris')
        self.assertRaises(ValueError, sample.deploy, site,
                          servers=['hss-9'])
        self.assertEqual([], list(site.compute.servers()))
        ids = sample.deploy(site)
        self.assertEqual(6, len(list(site.compute.servers())))
        self.assertIn('edge', ids)
