"""The predicted RTO of a takeover: the model, and what it learns from."""

import datetime

from geoflows import jobs
from geoflows import rto
from tests.unit import test_takeover_jobs


class TestPrediction(test_takeover_jobs.TakeoverTestCase):

    def parts(self):
        return self.checkpoint.vnfs

    def predict(self, caps=None, fenced=False, **times):
        durations = {kind: (times.get(kind, value), 'test')
                     for kind, value in rto.DEFAULTS.items()}
        group = self.plan.protection_group('core')
        return rto.predict(self.plan, group, self.parts(), durations,
                           caps or {}, chains=[{'pgw', 'fw'}],
                           fence=fenced)

    def test_priorities_add_up_and_chains_come_last(self):
        found = self.predict(lookup=0, hook=0, promote=0, restore=10,
                             port=1, boot=2, active=8, attach=2, chain=3)
        vnfs = found['vnfs']
        self.assertEqual(0, vnfs['hss']['ready'])  # hot: nothing to do
        # warm pgw: restore 10 + attach 2; cold fw: its restore (10) while
        # its ports, boots and waits (1+2+8) go on, then attach 2; then
        # the chain they are in, 3.
        self.assertEqual(0, vnfs['pgw']['start'])
        self.assertEqual(16, vnfs['fw']['ready'])
        self.assertEqual(16, found['rto'])
        slow = self.predict(lookup=0, hook=0, promote=0, restore=30,
                            port=1, boot=2, active=8, attach=2, chain=3)
        self.assertEqual(35, slow['vnfs']['fw']['ready'])
        self.assertFalse(found['exceeds'])

    def test_caps_stretch_a_level(self):
        free = self.predict(lookup=0, hook=0, chain=0)['vnfs']['fw']
        capped = self.predict({'compute': 1}, lookup=0, hook=0,
                              chain=0)['vnfs']['fw']
        # Two boots (and two attaches) through one compute slot.
        self.assertGreater(capped['ready'], free['ready'])

    def test_a_target_too_short_is_flagged(self):
        group = self.plan.protection_group('core')
        found = self.predict(restore=group.rto)
        self.assertTrue(found['exceeds'])
        self.assertTrue(found['vnfs']['fw']['exceeds'])

    def test_it_learns_from_the_last_takeover(self):
        times = rto.durations(self.store, 'test', 'core')
        self.assertEqual('default', times['boot'][1])
        self.assertEqual("the last sync's backups", times['restore'][1])
        job = self.takeover()
        self.assertEqual(jobs.SUCCESS, job.state)
        times = rto.durations(self.store, 'test', 'core')
        self.assertEqual('measured by takeover %s' % job.id,
                         times['boot'][1])
        self.assertLess(times['boot'][0], rto.DEFAULTS['boot'])

    def test_a_server_booting_from_a_restored_volume_waits_for_it(self):
        phases = {'restore': 10, 'port': 1, 'boot': 2, 'active': 8,
                  'attach': 2, 'lookup': 0.5}
        self.assertEqual(13.5, rto._vnf_seconds(phases, False))
        self.assertEqual(23.5, rto._vnf_seconds(phases, True))
        self.assertTrue(rto._boots_from_volume({'servers': [
            {'image': None, 'volumes': [{'device': '/dev/vda'}]}]}))
        self.assertFalse(rto._boots_from_volume({'servers': [
            {'image': {'name': 'i'}, 'volumes': [{'device': '/dev/vdb'}]}]}))

    def test_a_disaster_fences_first(self):
        planned = self.predict(lookup=0, chain=0)
        disaster = self.predict(lookup=0, chain=0, fence=7, fenced=True)
        self.assertEqual(planned['vnfs']['hss']['ready'] + 7,
                         disaster['vnfs']['hss']['ready'])
        self.assertEqual(planned['rto'] + 7, disaster['rto'])

    def test_the_fence_is_measured_too(self):
        job = self.takeover()
        self.assertEqual(jobs.SUCCESS, job.state)
        seconds, source = rto.durations(self.store, 'test', 'core')['fence']
        self.assertEqual('measured by takeover %s' % job.id, source)
        self.assertLess(seconds, rto.DEFAULTS['fence'])

    def test_a_wait_lasts_from_the_work_to_its_last_check(self):
        # A restore's or a boot's wait is a paced retry: only its last
        # check is a step; the work lasted from the step that started it.
        t0 = datetime.datetime(2026, 12, 1, 12, 0, 0)

        def step(unit, name, start, end):
            return {'unit': unit, 'name': name,
                    'started_at': t0 + datetime.timedelta(seconds=start),
                    'finished_at': t0 + datetime.timedelta(seconds=end)}
        steps = [step('core/fw', 'data.fw-1.v.volume', 0, 1.5),
                 step('core/fw', 'data.fw-1.v.volume.ready', 31.9, 32),
                 step('core/fw', 'server.fw-1', 2, 7),
                 step('core/fw', 'server.fw-1.ready', 27, 27.4),
                 step('core.fence', 'fence', 0, 7.5),
                 step('core/fw', 'port.fw-1.fw-1-mgmt', 1, 1.75)]
        self.assertEqual(
            [('active', 20.4), ('boot', 5.0), ('fence', 7.5),
             ('port', 0.75), ('restore', 32.0)],
            sorted((kind, round(seconds, 2)) for kind, seconds in
                   rto._takeover_times(steps, 'core')))
        backups = [step('core/fw', 'data.fw-1.v.backup', 10, 10.2),
                   step('core/fw', 'data.fw-1.v.backup.ready', 30, 30.5)]
        self.assertEqual([20.5], rto._backup_times(backups))

    def test_step_kinds(self):
        self.assertEqual('boot', rto.kind_of('server.fw-1'))
        self.assertEqual('active', rto.kind_of('server.fw-1.ready'))
        self.assertEqual('restore', rto.kind_of('data.fw-1.v.volume.ready'))
        self.assertEqual('attach', rto.kind_of('data.fw-1.v.attachment'))
        self.assertEqual('port', rto.kind_of('port.fw-1.fw-1-mgmt'))
        self.assertIsNone(rto.kind_of('server.fw-1.probe'))
        self.assertIsNone(rto.kind_of('ready'))
