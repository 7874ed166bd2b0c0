"""Takeover jobs on the fake cloud: the sample VNFs move from paris to lyon.
"""

import os
import threading
import time

import fixtures
from keystoneauth1 import exceptions as ksa_exc
from taskflow import states
import yaml

from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import exceptions
from geoflows import jobs
from geoflows import runner as runner_mod
from geoflows.testing import sample
from geoflows import verify
from tests.unit import base
from tests.unit import test_protection_jobs
from tests.unit import test_runner

DISASTER = {'mode': 'disaster', 'confirm_primary_lost': True}
PLANNED = {'mode': 'planned'}


def make_plan(**group):
    data = base.plan_data()
    data.update(yaml.safe_load(sample.group_yaml(
        primary='paris', dr='lyon', interconnect='vpn', **group)))
    return base.make_plan(data)


class TakeoverTestCase(test_protection_jobs.ProtectionTestCase):

    def setUp(self):
        super().setUp()
        self.plan = make_plan()
        for operation, names in (('interconnect.setup', ['vpn']),
                                 ('protect', None), ('sync', None)):
            job = self.runner.start(operation, self.plan, names)
            self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.checkpoint = checkpoints.latest(self.store, 'test', 'core')

    def takeover(self, params=DISASTER, plan=None, runner=None):
        return (runner or self.runner).start('takeover', plan or self.plan,
                                             params=params)

    def report(self, job):
        return job.result['units']['core.done']

    def steps(self, job):
        return {(s['unit'], s['name']): s
                for s in self.runner.steps(job.id)[1]}


class TestDisaster(TakeoverTestCase):

    def test_each_vnf_is_ready_after_all_its_steps(self):
        import networkx
        from taskflow.patterns import graph_flow

        from geoflows import flows
        job = self.takeover()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        shapes = set()
        for unit in job.units:
            if unit['flow'] != 'takeover.vnf':
                continue
            flow = flows.build(unit['flow'], unit['args'], job.spec[
                'options'])
            if isinstance(flow, graph_flow.Flow):
                graph = networkx.DiGraph()
                graph.add_nodes_from(node.name for node, _ in
                                     flow.iter_nodes())
                graph.add_edges_from((u.name, v.name) for u, v, _ in
                                     flow.iter_links())
                self.assertEqual(set(graph) - {'ready'},
                                 networkx.ancestors(graph, 'ready'),
                                 unit['name'])
                shapes.add('graph')
            else:  # a chain: its steps, hooks, then ready
                self.assertEqual('ready', list(flow)[-1].name)
                shapes.add('chain')
        self.assertIn('graph', shapes)

    def test_every_vnf_comes_up_connected_the_same_way(self):
        job = self.takeover()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        servers = self.dr_servers()
        self.assertEqual({'hss-1', 'hss-2', 'pgw-1', 'pgw-2', 'fw-1',
                          'fw-2'}, set(servers))
        self.assertTrue(all(s.status == 'ACTIVE' for s in servers.values()))
        report = self.report(job)
        self.assertEqual({'clean': True, 'differences': []},
                         report['verify'])
        for name, vnf in report['vnfs'].items():
            self.assertTrue(vnf['ready'], name)
            self.assertGreater(vnf['rpo'], 0)
            self.assertLessEqual(vnf['rto'], job.duration)
        # The restored volume holds the checkpoint's bytes.
        cinder = self.lyon().block_storage
        [restored] = [v for v in cinder.volumes()
                      if v.name == 'pgw-1-cfg']
        self.assertEqual(self.site('paris').volume_sha256(
            self.ids['pgw-1-cfg']), self.lyon().volume_sha256(restored.id))
        self.assertEqual('in-use', restored.status)
        # The chain, rebuilt from the DR ports, never empty on the way.
        [chain] = self.lyon().network.sfc_port_chains()
        self.assertEqual('edge', chain.name)
        self.assertEqual([], self.lyon().sfc_violations)
        # The DR networks joined the interconnect's BGPVPN.
        [vpn] = self.lyon().network.bgpvpns()
        joined = {a.network_id for a in
                  self.lyon().network.bgpvpn_network_associations(vpn.id)}
        nets = {n.name: n.id for n in self.lyon().network.networks()}
        self.assertLessEqual({nets['vnf-mgmt'], nets['vnf-data']}, joined)
        # Fenced: the primary's servers are stopped, their ports down.
        self.assertTrue(all(s.status == 'SHUTOFF' for s in
                            self.site('paris').compute.servers()))
        state = groups.get(self.store, 'test', 'core')
        self.assertEqual(groups.FENCED, state.fence_state)
        self.assertTrue(state.taken_over)
        self.assertEqual('lyon', state.serving_site)

    def test_priorities_and_dependencies_are_honoured(self):
        job = self.takeover()
        steps = self.steps(job)
        hss_ready = steps[('core/hss', 'ready')]['finished_at']
        for vnf in ('pgw', 'fw'):
            first = min(s['started_at'] for (unit, _n), s in steps.items()
                        if unit == 'core/%s' % vnf and s['started_at'])
            self.assertLess(hss_ready, first, vnf)

    def test_verification_reads_within_the_compute_call_cap(self):
        capped = runner_mod.Runner(self.store, self.clouds, self.resolver,
                                   base.OPTIONS, call_caps={'compute': 2})
        self.addCleanup(capped.close)
        compare = self.useFixture(fixtures.MockPatchObject(
            verify, 'compare', side_effect=verify.compare)).mock

        job = self.takeover(runner=capped)

        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.assertEqual(2, compare.call_args.kwargs['readers'])
        self.assertEqual({'clean': True, 'differences': []},
                         self.report(job)['verify'])

    def test_attached_volumes_are_counted_from_nova_s_listing(self):
        job = self.takeover()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        asked = []
        clouds = self.clouds

        class Compute(object):
            """A site's compute proxy; its listing with or without them."""

            def __init__(self, proxy, listed):
                self.proxy, self.listed = proxy, listed

            def __getattr__(self, name):
                return getattr(self.proxy, name)

            def servers(self, **kwargs):
                found = list(self.proxy.servers(**kwargs))
                for server in found if not self.listed else ():
                    server['attached_volumes'] = None  # an older Nova
                return found

            def volume_attachments(self, server):
                asked.append(server.name)
                return self.proxy.volume_attachments(server)

        class Clouds(object):
            def __init__(self, listed):
                self.listed = listed

            def __getattr__(self, name):
                return getattr(clouds, name)

            def compute(self, site):
                return Compute(clouds.compute(site), self.listed)

        self.assertEqual([], verify.compare(Clouds(True), self.checkpoint))
        self.assertEqual([], asked)  # the listing said it all
        self.assertEqual([], verify.compare(Clouds(False), self.checkpoint))
        self.assertEqual(6, len(asked))
        # A volume gone from a server is seen either way.
        [fw] = [s for s in self.lyon().compute.servers() if s.name == 'fw-1']
        [volume] = self.lyon().block_storage.volumes(name='fw-1-logs')
        self.lyon().compute.delete_volume_attachment(fw.id, volume.id)
        for listed in (True, False):
            self.assertIn('VNF fw: server fw-1 has 0 volumes attached, the '
                          'checkpoint 1', verify.compare(
                              Clouds(listed), self.checkpoint), listed)

    def test_verification_reads_the_site_side_by_side(self):
        job = self.takeover()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        site = self.lyon()

        class Workers(object):
            """The site's workers, counting the calls in flight."""

            def __init__(self):
                self.lock = threading.Lock()
                self.now = self.most = 0

            def serve(self, latency):
                with self.lock:
                    self.now += 1
                    self.most = max(self.most, self.now)
                time.sleep(latency)
                with self.lock:
                    self.now -= 1
        workers = Workers()
        self.useFixture(fixtures.MockPatchObject(site, 'workers', workers))
        self.useFixture(fixtures.MockPatchObject(site, 'latency', 0.05))
        calls = dict(site.calls)

        self.assertEqual([], verify.compare(self.clouds, self.checkpoint))

        made = {n: c - calls.get(n, 0) for n, c in site.calls.items()
                if '.' in n and c != calls.get(n, 0)}
        # One listing each, read at once (one after the other, a large
        # takeover's end waited for the sum of their latencies).
        for listing in ('compute.servers', 'network.networks',
                        'network.subnets', 'network.ports',
                        'network.security_groups',
                        'network.sfc_port_chains',
                        'network.sfc_port_pair_groups',
                        'network.sfc_port_pairs',
                        'network.sfc_flow_classifiers'):
            self.assertEqual(1, made.pop(listing), listing)
        self.assertEqual(9, workers.most)
        self.assertEqual({'image.get_image'}, set(made))

    def test_without_confirmation_nothing_starts(self):
        e = self.assertRaises(exceptions.GeoflowsError, self.takeover,
                              {'mode': 'disaster'})
        self.assertIn('confirm that the primary is lost', str(e))
        e = self.assertRaises(exceptions.GeoflowsError, self.takeover, {})
        self.assertIn('planned', str(e))

    def test_an_unreachable_primary_is_not_fenced(self):
        self.site('paris').fail(
            'get_server', times=1000,
            error=ksa_exc.ConnectFailure('connection refused'))
        job = self.takeover()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        state = groups.get(self.store, 'test', 'core')
        self.assertEqual(groups.NOT_FENCED, state.fence_state)
        self.assertIn('could not be fenced', state.fence_detail)
        fence = job.result['units']
        self.assertNotIn('core.fence', fence)  # no report: see the step
        [step] = [s for s in self.runner.steps(job.id)[1]
                  if s['name'] == 'fence']
        self.assertEqual('SUCCESS', step['state'])
        self.assertEqual(6, len(self.dr_servers()))

    def test_a_second_takeover_is_refused(self):
        self.assertEqual(jobs.SUCCESS, self.takeover().state)
        e = self.assertRaises(exceptions.PreflightError, self.takeover)
        self.assertIn('already runs at site lyon', str(e))

    def test_a_failed_vnf_is_undone_alone_its_dependents_skipped(self):
        # The cold firewall's image is gone at the DR site.
        data = base.plan_data()
        data.update(yaml.safe_load(sample.group_yaml(
            primary='paris', dr='lyon', interconnect='vpn')))
        # A VNF that needs the firewall: skipped when it fails.
        vnfs = data['protection_groups'][0]['vnfs']
        vnfs.append({'name': 'lb', 'priority': 3, 'standby': 'cold',
                     'depends_on': ['fw'], 'servers': ['fw-2']})
        vnfs[2]['servers'] = ['fw-1']
        plan = base.make_plan(data)
        sync = self.runner.start('sync', plan)
        self.assertEqual(jobs.SUCCESS, sync.state, sync.error)
        before = {s.name for s in self.lyon().compute.servers()}
        [image] = self.lyon().image.images()
        self.lyon().image.delete_image(image.id)  # the standbys run on
        job = self.takeover(plan=plan)
        self.assertEqual(jobs.PARTIAL, job.state, job.error)
        self.assertEqual(['core/fw'], list(job.result['failed']))
        self.assertIn("image 'vnf-image' on site 'lyon' does not exist; "
                      'protect and sync copy it', job.result['failed'][
                          'core/fw'])
        self.assertEqual({'core/lb', 'core.chain.edge'},
                         set(job.result['skipped']))
        self.assertIn('geoflows job resume %s' % job.id, job.error)
        # Nothing of the firewall was left half-built.
        dr = self.lyon()
        self.assertEqual(before, {s.name for s in dr.compute.servers()})
        self.assertFalse([p for p in dr.network.ports()
                          if (p.name or '').startswith('fw-1')])
        self.assertFalse([v for v in dr.block_storage.volumes()
                          if v.name.startswith('fw-1')])
        # The others are up.
        self.assertEqual('ACTIVE', self.dr_servers()['pgw-1'].status)
        # The cause fixed, a resume brings the rest up.
        source = self.site('paris').image.get_image(self.ids['vnf-image'])
        dr.image.create_image('vnf-image', data=sample.image_data(),
                              disk_format='raw', container_format='bare',
                              geoflows_source=source.id,
                              geoflows='geoflows plan=test group=core')
        job = self.runner.resume(job.id)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.assertEqual({'fw-1', 'fw-2'} | before,
                         {s.name for s in dr.compute.servers()})
        self.assertEqual(['edge'], [c.name for c in
                                    dr.network.sfc_port_chains()])
        # The report says so: it was made again after the resume; its
        # verification sees the standbys booted from the deleted image.
        report = self.report(job)
        self.assertTrue(report['vnfs']['fw']['ready'])
        differences = report['verify']['differences']
        self.assertEqual(4, len(differences), differences)
        self.assertTrue(all('which no longer exists' in d and 'fw' not in d
                            for d in differences), differences)

    def test_a_volume_restored_but_not_yet_marked_is_not_left(self):
        # A restore takes no metadata: the volume is marked once it exists.
        # Failing in between, the VNF is undone and its volume with it.
        self.site('lyon').fail('set_volume_metadata', times=1)
        job = self.takeover()
        self.assertEqual(jobs.PARTIAL, job.state, job.error)
        [failed] = list(job.result['failed'])
        restored = [v.name for v in self.lyon().block_storage.volumes()
                    if v.name.startswith(failed.split('/')[1])]
        self.assertEqual([], restored)
        job = self.runner.resume(job.id)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)


class TestPlanned(TakeoverTestCase):

    def test_final_copies_wait_for_their_snapshots(self):
        # Cinder refuses to back a snapshot up before it is available.
        self.site('paris').storage_reads = 3
        job = self.takeover(PLANNED)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)

    def test_no_data_is_lost_and_revert_gives_the_site_back(self):
        before = self.inventory()
        volume = self.ids['pgw-1-cfg']
        self.site('paris').write_volume(volume, 8192, b'after the sync')
        job = self.takeover(PLANNED)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        # The job's own checkpoint, made after the primary stopped.
        cp = checkpoints.latest(self.store, 'test', 'core')
        self.assertEqual(checkpoints.checkpoint_id(job.id), cp.id)
        [restored] = [v for v in self.lyon().block_storage.volumes()
                      if v.name == 'pgw-1-cfg']
        self.assertEqual(self.site('paris').volume_sha256(volume),
                         self.lyon().volume_sha256(restored.id))
        self.assertEqual({'clean': True, 'differences': []},
                         self.report(job)['verify'])
        self.assertEqual([], verify.compare(self.clouds, cp))
        # The whole takeover undone: the DR site and the primary as before.
        job = self.runner.revert(job.id)
        self.assertEqual(jobs.REVERTED, job.state, job.error)
        after = self.inventory()
        self.assertEqual(before['lyon'], after['lyon'])
        self.assertTrue(all(s.status == 'ACTIVE' for s in
                            self.site('paris').compute.servers()))
        self.assertFalse(groups.get(self.store, 'test', 'core').taken_over)

    def test_a_server_stopped_by_a_killed_attempt_is_started_by_revert(self):
        # Killed right after it stopped a primary server and before it
        # recorded so, the job finds the server SHUTOFF when resumed: it
        # was running when the job was made, so the job stopped it.
        job_id = self.runner.create('takeover', self.plan, params=PLANNED)
        paris = self.site('paris').compute
        paris.stop_server(self.ids['pgw-2'])
        job = self.runner.run(job_id)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        job = self.runner.revert(job.id)
        self.assertEqual(jobs.REVERTED, job.state, job.error)
        self.assertEqual({'ACTIVE'}, {s.status for s in paris.servers()})


class TestTakeoverCrash(TakeoverTestCase):
    """A takeover whose controller died, resumed: one of everything."""

    POINTS = [('fence', states.RUNNING),
              ('server.hss-1.ready', states.SUCCESS),
              ('data.fw-1.%s.volume' % '{fw}', states.RUNNING),
              ('server.fw-1', states.RUNNING),
              ('data.fw-1.%s.attachment' % '{fw}', states.RUNNING),
              ('chain', states.RUNNING), ('pair.pgw-1-pair', states.SUCCESS),
              ('association.vnf-mgmt', states.RUNNING),
              ('verify', states.RUNNING), ('report', states.RUNNING)]

    def world(self, name):
        path = os.path.join(self.tmp, '%s.sqlite' % name)
        import sqlite3
        source = sqlite3.connect(self.store.engine.url.database)
        target = sqlite3.connect(path)
        source.backup(target)
        source.close()
        target.close()
        return test_runner.World(self, name, self.clouds.clone(), path)

    def test_resume_after_a_crash_makes_no_duplicate(self):
        for i, (step, state) in enumerate(self.POINTS):
            step = step.replace('{fw}', self.ids['fw-1-logs'])
            world = self.world('crash%d' % i)
            job_id = world.runner.create('takeover', self.plan,
                                         params=DISASTER)
            crash_dir = os.path.join(self.tmp, 'crash%d-restarted' % i)
            os.mkdir(crash_dir)
            path, clouds = test_runner.CrashPoint(step, state).crash(
                world, job_id, crash_dir)
            restarted = test_runner.World(self, 'crash%d-restarted' % i,
                                          clouds, path)
            job = restarted.runner.resume(job_id)
            self.assertEqual(jobs.SUCCESS, job.state, (step, job.error))
            dr = clouds.site('telco', 'lyon')
            names = [s.name for s in dr.compute.servers()]
            self.assertEqual(sorted(set(names)), sorted(names), step)
            self.assertEqual(6, len(names), step)
            ports = [p.name for p in dr.network.ports() if p.name]
            self.assertEqual(sorted(set(ports)), sorted(ports), step)
            volumes = [v.name for v in dr.block_storage.volumes()]
            self.assertEqual(sorted(set(volumes)), sorted(volumes), step)
            self.assertEqual(1, len(list(dr.network.sfc_port_chains())))
            self.assertEqual(2, len(list(dr.network.sfc_port_pairs())))
            report = job.result['units']['core.done']
            self.assertTrue(report['verify']['clean'], (step, report))
