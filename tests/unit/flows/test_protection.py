"""The flows of protect and sync: what each factory requires and provides.

(Factories do no I/O: the units hold the inventory read before the job.)
"""

from taskflow import flow as tf_flow

from geoflows import flows
from geoflows import protection_units
from geoflows.testing import sample
from tests.unit import base
from tests.unit import test_protection_jobs


def tasks_of(flow):
    """Every task of ``flow`` and of its subflows."""
    for node, _meta in flow.iter_nodes():
        if isinstance(node, tf_flow.Flow):
            yield from tasks_of(node)
        else:
            yield node


class FlowTestCase(base.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.ids = sample.deploy(self.site('paris'))
        self.plan = test_protection_jobs.make_plan()

    def units(self, operation):
        units = protection_units.build(operation, self.plan, None,
                                       self.runner.context,
                                       dict(base.OPTIONS, job_id='j-1'))
        return {unit['name']: unit for unit in units}

    def flow(self, unit):
        return flows.build(unit['flow'], unit['args'], base.OPTIONS)


class TestProtectFlows(FlowTestCase):

    def test_units_and_their_order(self):
        units = self.units('protect')
        # Cold VNFs have no unit: nothing runs for them at the DR site.
        self.assertEqual(['core', 'core/hss', 'core/pgw', 'core.protected'],
                         list(units))
        self.assertEqual(['core'], units['core/hss']['after'])
        self.assertEqual(['core', 'core/hss', 'core/pgw'],
                         units['core.protected']['after'])
        self.assertEqual(['protection:test/core'], units['core']['locks'])

    def test_group_flow(self):
        flow = self.flow(self.units('protect')['core'])
        self.assertEqual(set(), flow.requires)
        for key in ('network.vnf-mgmt', 'subnet.vnf-mgmt.10.50.0.0/24',
                    'router.vnf-edge', 'secgroup.vnf-sg',
                    'secgroup.vnf-sg.rule.0', 'keypair.vnf-key',
                    'flavor.vnf-small', 'server-group.hss-group',
                    'image.%s' % self.ids['vnf-image'], 'report'):
            self.assertIn(key, flow.provides)

    def test_standby_flow(self):
        flow = self.flow(self.units('protect')['core/hss'])
        self.assertEqual(set(), flow.requires)
        for key in ('port.hss-1.hss-1-mgmt', 'server.hss-1',
                    'server.hss-1.ready', 'volume.hss-1.%s' % self.ids[
                        'hss-1-db'], 'network.vnf-mgmt', 'flavor.vnf-small'):
            self.assertIn(key, flow.provides)


class TestSyncFlows(FlowTestCase):

    def test_units_and_their_order(self):
        units = self.units('sync')
        self.assertEqual(['core', 'core/hss', 'core/pgw', 'core/fw',
                          'core.checkpoint'], list(units))
        # Each VNF unit holds the part of the group it needs, not all.
        fw = units['core/fw']['args']
        self.assertEqual([], fw['group_doc']['routers'])
        self.assertEqual(['vnf-mgmt', 'vnf-data'],
                         [n['name'] for n in fw['group_doc']['networks']])

    def test_group_flow(self):
        flow = self.flow(self.units('sync')['core'])
        self.assertEqual({'job_id'}, flow.requires)
        self.assertIn('checkpoint.open', flow.provides)

    def test_vnf_flow(self):
        flow = self.flow(self.units('sync')['core/fw'])
        self.assertEqual({'job_id'}, flow.requires)
        volume = self.ids['fw-1-logs']
        for key in ('copies.slots.taken', 'window.closed',
                    'data.fw-1.%s.snapshot' % volume,
                    'data.fw-1.%s.backup' % volume,
                    'data.fw-1.%s.imported' % volume,
                    'data.fw-1.%s.record' % volume,
                    'copies.slots.given', 'checkpoint.vnf'):
            self.assertIn(key, flow.provides)
        # A cold VNF brings no standby up at a sync.
        self.assertFalse(any(key.startswith('server.')
                             for key in flow.provides))

    def test_a_backup_is_exported_only_once_it_is_available(self):
        # Cinder refuses to export the record of a backup still being
        # made: the export waits for the backup's wait to end.
        flow = self.flow(self.units('sync')['core/fw'])
        key = 'data.fw-1.%s' % self.ids['fw-1-logs']
        [export] = [t for t in tasks_of(flow) if t.name == key + '.export']
        self.assertIn(key + '.backup.ready', export.requires)

    def test_checkpoint_flow(self):
        flow = self.flow(self.units('sync')['core.checkpoint'])
        self.assertEqual({'job_id'}, flow.requires)
        self.assertEqual({'checkpoint', 'checkpoint.prune'}, flow.provides)

    def test_factories_read_nothing(self):
        units = self.units('sync')
        before = dict(self.site('paris').calls)
        for unit in units.values():
            self.flow(unit)
        self.assertEqual(before, dict(self.site('paris').calls))
