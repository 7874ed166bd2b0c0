"""Drills on the fake cloud: the sample VNFs rehearsed at lyon, in an
isolated copy, while paris serves them.
"""

import datetime

from geoflows import checkpoints
from geoflows.checkpoints import drills
from geoflows.checkpoints import groups
from geoflows import drill
from geoflows import drill_units
from geoflows import exceptions
from geoflows import jobs
from geoflows.store import tables
from geoflows.tasks import compute as compute_tasks
from tests.unit import test_takeover_jobs

DISASTER = test_takeover_jobs.DISASTER


def _drilled(obj):
    """Whether ``obj`` is part of a drill's copy (its mark says drill=)."""
    marks = [getattr(obj, 'description', None) or '',
             (getattr(obj, 'metadata', None) or {}).get(
                 compute_tasks.MARK_KEY) or '']
    return any(' drill=' in mark for mark in marks) or \
        (getattr(obj, 'name', None) or '').startswith('gfd-')


def snapshot(site, outside_drills=True):
    """What a fake site holds, by kind, without what drills made."""
    net, compute, cinder = site.network, site.compute, site.block_storage
    networks = {n.id: n.name for n in net.networks()}
    kinds = {
        'network': [(n.name, n.description) for n in net.networks()
                    if not _drilled(n)],
        'subnet': [(networks.get(s.network_id), s.cidr, s.gateway_ip)
                   for s in net.subnets()
                   if not networks.get(s.network_id, '').startswith('gfd-')],
        'router': [(r.name, str(r.external_gateway_info))
                   for r in net.routers() if not _drilled(r)],
        'port': [(p.name, networks.get(p.network_id), p.mac_address,
                  str(sorted(i['ip_address'] for i in p.fixed_ips or ())),
                  p.device_owner, str(p.is_admin_state_up))
                 for p in net.ports()
                 if not _drilled(p) and not networks.get(
                     p.network_id, '').startswith('gfd-')],
        'server': [(s.name, s.status, str(sorted((s.metadata or {}).items())))
                   for s in compute.servers() if not _drilled(s)],
        'volume': [(v.name, v.status, v.size)
                   for v in cinder.volumes() if not _drilled(v) and
                   not (v.name or '').endswith(tuple(
                       '-gfd-%s' % c for c in '0123456789abcdef'))],
        'backup': [(b.name, b.status) for b in cinder.backups()],
        'image': [(i.name, i.status) for i in site.image.images()],
        'security group': [g.name for g in net.security_groups()],
        'chain': [(c.name, str(c.port_pair_groups))
                  for c in net.sfc_port_chains() if not _drilled(c)],
        'port pair': [p.name for p in net.sfc_port_pairs()
                      if not _drilled(p)],
        'classifier': [c.name for c in net.sfc_flow_classifiers()
                       if not _drilled(c)],
        'bgpvpn': [(v.name, str(sorted(
            networks.get(a.network_id) for a in
            net.bgpvpn_network_associations(v.id))))
            for v in net.bgpvpns()],
    }
    if not outside_drills:
        kinds['drill'] = sorted(
            r.name for listing in (net.networks, net.routers, net.ports,
                                   compute.servers, cinder.volumes,
                                   net.sfc_port_chains, net.sfc_port_pairs,
                                   net.sfc_port_pair_groups,
                                   net.sfc_flow_classifiers)
            for r in listing() if _drilled(r))
    return {kind: sorted(map(str, found)) for kind, found in kinds.items()}


class DrillTestCase(test_takeover_jobs.TakeoverTestCase):

    def snapshots(self, outside_drills=True):
        return {name: snapshot(self.site(name), outside_drills)
                for name in ('paris', 'lyon')}

    def left(self, job_id):
        """What of the drill's copy is still at lyon."""
        mark = drill_units.marker('test', 'core', job_id)
        lyon = self.lyon()
        found = []
        for listing in (lyon.network.networks, lyon.network.routers,
                        lyon.network.ports, lyon.network.sfc_port_chains,
                        lyon.network.sfc_port_pair_groups,
                        lyon.network.sfc_port_pairs,
                        lyon.network.sfc_flow_classifiers):
            found += [r.name for r in listing()
                      if getattr(r, 'description', None) == mark]
        for listing in (lyon.compute.servers, lyon.block_storage.volumes):
            found += [r.name for r in listing()
                      if (r.metadata or {}).get('geoflows') == mark]
        return found

    def drill(self, **params):
        return self.runner.start('drill', self.plan, params=params)


class TestDrill(DrillTestCase):

    def test_a_drill_rehearses_and_leaves_nothing_behind(self):
        before = self.snapshots(outside_drills=False)
        job = self.drill()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        [report] = drill.reports(job)
        self.assertEqual('drill', report['mode'])
        self.assertEqual(self.checkpoint.id, report['checkpoint'])
        self.assertEqual({'clean': True, 'differences': []},
                         report['verify'])
        self.assertEqual({'hss', 'pgw', 'fw'}, set(report['vnfs']))
        for name, vnf in report['vnfs'].items():
            self.assertTrue(vnf['ready'], name)
            self.assertGreater(vnf['rto'], 0, name)
            self.assertLessEqual(vnf['rto'], job.duration, name)
            self.assertGreater(vnf['rpo'], 0, name)
        # Nothing left, nothing else changed (the drill's copy included).
        self.assertEqual([], self.left(job.id))
        self.assertEqual(before, self.snapshots(outside_drills=False))
        [copy] = drills.listing(self.store, present=False)
        self.assertEqual((job.id, 'core', drills.REMOVED),
                         (copy.drill_id, copy.group_name, copy.state))
        self.assertEqual(report['vnfs'], copy.report['vnfs'])
        self.assertEqual([], drill.copies(self.store))
        # The group is still served by its primary, protected as before.
        state = groups.get(self.store, 'test', 'core')
        self.assertEqual(groups.PROTECTED, state.state)
        self.assertIsNone(state.serving_site)

    def test_a_kept_copy_is_isolated_and_the_same_as_the_checkpoint(self):
        before = self.snapshots()
        job = self.drill(keep_for=600)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.assertEqual(before, self.snapshots())
        lyon = self.lyon()
        tag = drill_units.tag_of(job.id)
        nets = {n.name: n for n in lyon.network.networks()
                if n.name.startswith(tag)}
        self.assertEqual({tag + '-vnf-mgmt', tag + '-vnf-data'}, set(nets))
        # No way out: its routers have no gateway, its networks are in
        # no BGPVPN.
        routers = [r for r in lyon.network.routers()
                   if r.name.startswith(tag)]
        self.assertTrue(routers)
        self.assertEqual([None], list({r.external_gateway_info or None
                                       for r in routers}))
        joined = {a.network_id for v in lyon.network.bgpvpns()
                  for a in lyon.network.bgpvpn_network_associations(v.id)}
        self.assertFalse(joined & {n.id for n in nets.values()})
        # Same names, IPs and MACs as at paris, on the copy's networks.
        mark = drill_units.marker('test', 'core', job.id)
        servers = {s.name: s for s in lyon.compute.servers()
                   if (s.metadata or {}).get('geoflows') == mark}
        self.assertEqual({'hss-1', 'hss-2', 'pgw-1', 'pgw-2', 'fw-1',
                          'fw-2'}, set(servers))
        self.assertEqual({'ACTIVE'}, {s.status for s in servers.values()})
        paris = self.site('paris')
        primary = {(p.name, p.mac_address, str(sorted(
            i['ip_address'] for i in p.fixed_ips))) for p in
            paris.network.ports() if p.name and p.name.startswith(
                ('pgw', 'fw', 'hss'))}
        copy = {(p.name, p.mac_address, str(sorted(
            i['ip_address'] for i in p.fixed_ips))) for p in
            lyon.network.ports() if p.network_id in
            {n.id for n in nets.values()} and p.description == mark and
            p.name}
        self.assertEqual(primary, copy)
        # Its volume holds the checkpoint's bytes.
        [restored] = [v for v in lyon.block_storage.volumes()
                      if (v.metadata or {}).get('geoflows') == mark and
                      v.name.startswith('pgw-1-cfg')]
        self.assertEqual(paris.volume_sha256(self.ids['pgw-1-cfg']),
                         lyon.volume_sha256(restored.id))
        [chain] = [c for c in lyon.network.sfc_port_chains()
                   if c.description == mark]
        self.assertEqual(tag + '-edge', chain.name)
        self.assertEqual([], lyon.sfc_violations)
        [present] = drill.copies(self.store)
        self.assertEqual(job.id, present.drill_id)
        self.assertAlmostEqual(600, (present.keep_until -
                                     present.created_at).total_seconds(),
                               delta=30)
        # Then removed, with nothing else touched.
        cleanup = drill.cleanup(self.runner, job.id[:8])
        self.assertEqual(jobs.SUCCESS, cleanup.state, cleanup.error)
        self.assertEqual([], self.left(job.id))
        self.assertEqual([], drill.copies(self.store))
        self.assertEqual(before, self.snapshots())
        e = self.assertRaises(exceptions.GeoflowsError, drill.cleanup,
                              self.runner, job.id)
        self.assertIn('no copy left', str(e))

    def test_hooks_are_told_it_is_a_drill(self):
        import json
        import os
        import stat
        script = os.path.join(self.tmp, 'hook.py')
        log = os.path.join(self.tmp, 'payloads')
        with open(script, 'w') as f:
            f.write('#!/usr/bin/env python3\nimport os, sys\n'
                    'open(%r, "a").write(os.environ["GEOFLOWS_DRILL"] + " " '
                    '+ sys.stdin.read().replace("\\n", " ") + "\\n")\n'
                    % log)
        os.chmod(script, stat.S_IRWXU)
        self.plan = test_takeover_jobs.make_plan(hooks={'pgw': {
            'post_takeover': [{'command': [script]}]}})
        job = self.drill()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        with open(log) as f:
            lines = f.read().splitlines()
        self.assertTrue(lines)
        for line in lines:
            env, payload = line.split(' ', 1)
            self.assertEqual('true', env)
            self.assertTrue(json.loads(payload)['drill'])

    def test_a_failed_cleanup_is_finished_by_resume(self):
        self.lyon().fail('delete_server', times=1)
        job = self.drill()
        self.assertEqual(jobs.PARTIAL, job.state)
        self.assertIn('core.cleanup', job.result['failed'])
        [present] = drill.copies(self.store)
        self.assertEqual(job.id, present.drill_id)
        self.assertTrue(self.left(job.id))
        job = self.runner.resume(job.id)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.assertEqual([], self.left(job.id))
        self.assertEqual([], drill.copies(self.store))
        # The copy was verified whole before its cleanup began; the resume
        # of the cleanup does not verify what it is removing.
        [report] = drill.reports(job)
        self.assertEqual({'clean': True, 'differences': []},
                         report['verify'])

    def test_a_vnf_that_fails_is_cleaned_up_too(self):
        before = self.snapshots(outside_drills=False)
        self.lyon().fail_builds(times=20, name='fw-1')
        job = self.drill()
        self.assertEqual(jobs.PARTIAL, job.state)
        self.assertIn('core/fw', job.result['failed'])
        [report] = drill.reports(job)
        self.assertFalse(report['vnfs']['fw']['ready'])
        self.assertTrue(report['vnfs']['pgw']['ready'])
        self.assertEqual([], self.left(job.id))
        self.assertEqual(before, self.snapshots(outside_drills=False))

    def test_a_taken_over_group_is_not_drilled(self):
        job = self.takeover()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        e = self.assertRaises(exceptions.PreflightError, self.drill)
        self.assertIn('a drill rehearses the takeover of a group its '
                      'primary serves', str(e))

    def test_a_group_without_checkpoint_is_refused(self):
        with self.store.engine.begin() as conn:
            conn.execute(tables.checkpoint_vnfs.delete())
            conn.execute(tables.checkpoints.delete())
        e = self.assertRaises(exceptions.PreflightError, self.drill)
        self.assertIn('has no complete checkpoint', str(e))

    def test_keep_is_bounded(self):
        for bad in (0, -1, True, 'long', 10 ** 9):
            self.assertRaises(exceptions.GeoflowsError, drill.drill_params,
                              bad, 3600)
        self.assertEqual({'keep_for': 60}, drill.drill_params(60, 3600))
        self.assertEqual({}, drill.drill_params(None, 3600))


class TestExpiry(DrillTestCase):

    def test_the_scheduler_removes_a_kept_copy_whose_time_is_up(self):
        from geoflows import schedule
        job = self.drill(keep_for=600)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        posted = []
        scheduler = schedule.Scheduler(self.runner, posted.append)
        cleanup_id = drill_units.cleanup_job_id(job.id)
        self.assertNotIn(cleanup_id, scheduler.tick())
        later = checkpoints.utcnow() + datetime.timedelta(seconds=601)
        self.assertIn(cleanup_id, scheduler.tick(now=later))
        # Only once, whoever asks.
        self.assertNotIn(cleanup_id, scheduler.tick(now=later))
        self.assertNotIn(cleanup_id, schedule.Scheduler(
            self.runner, posted.append).tick(now=later))
        [posted_job] = [p for p in posted if p.id == cleanup_id]
        done = self.runner.run(posted_job.id)
        self.assertEqual(jobs.SUCCESS, done.state, done.error)
        self.assertEqual([], self.left(job.id))
        self.assertEqual([], drill.copies(self.store))
