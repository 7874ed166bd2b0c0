"""Drills on two real regions: the sample rehearsed at site-b, in an
isolated copy, while site-a serves it; killed, resumed, cleaned up.

What the issue asks to be shown is asserted here: every VNF ready in the
copy, the copy verified clean, the RTO per VNF recorded, then no resource
of the drill left (ports, volumes, servers, networks, chains) and both
sites, outside the drill's own resources, what they were before.  Figures
are recorded with GEOFLOWS_TEST_MEASUREMENTS=FILE.
"""

import time

from tests.functional import test_takeover

#: Where the drill is killed (see test_takeover.run_until): its record and
#: networks, a restore, a boot, a chain, the verification.
DRILL_POINTS = [
    (r'core\.drill\.network', r'registered', 'SUCCESS'),
    (r'core\.drill\.network', r'network\.\S+', 'RUNNING'),
    (r'core/pgw', r'data\.\S+\.volume', 'RUNNING'),
    (r'core/fw', r'server\.\S+', 'RUNNING'),
    (r'core\.chain\.\S+', r'group\.\S+', 'SUCCESS'),
    (r'core\.done', r'verify', 'RUNNING'),
]
#: Where its cleanup is killed: at each kind of what it removes.
CLEANUP_POINTS = [
    (r'core\.cleanup', r'chains', 'RUNNING'),
    (r'core\.cleanup', r'servers', 'RUNNING'),
    (r'core\.cleanup', r'ports', 'RUNNING'),
    (r'core\.cleanup', r'volumes', 'RUNNING'),
    (r'core\.cleanup', r'networks', 'RUNNING'),
    (r'core\.cleanup', r'removed', 'RUNNING'),
]


def _drilled(obj):
    marks = (getattr(obj, 'description', None) or '',
             (getattr(obj, 'metadata', None) or {}).get('geoflows') or '')
    return any(' drill=' in m for m in marks) or \
        (getattr(obj, 'name', None) or '').startswith('gfd-')


class TestDrill(test_takeover.TakeoverCase):

    def site_snapshot(self, cloud, outside=True):
        """What a site holds, without ids (to compare).

        Networks, ports, servers, volumes, chains, VPNs...; ``outside``:
        without the drills' copies.
        """
        conn = self.connection(cloud)
        net = conn.network
        networks = {n.id: n.name for n in net.networks()}
        keep = (lambda r: not _drilled(r)) if outside else (lambda r: True)
        drill_net = {i for i, n in networks.items()
                     if (n or '').startswith('gfd-')}
        found = {
            'networks': [(n.name, n.description) for n in net.networks()
                         if keep(n)],
            'subnets': [(networks.get(s.network_id), s.cidr,
                         s.gateway_ip) for s in net.subnets()
                        if not outside or s.network_id not in drill_net],
            'routers': [(r.name, str(r.external_gateway_info))
                        for r in net.routers() if keep(r)],
            'ports': [(p.name, networks.get(p.network_id), p.mac_address,
                       str(sorted(i['ip_address'] for i in p.fixed_ips)),
                       p.device_owner, p.status)
                      for p in net.ports() if keep(p) and
                      (not outside or p.network_id not in drill_net)],
            'servers': [(s.name, s.status) for s in conn.compute.servers()
                        if keep(s)],
            'volumes': [(v.name, v.status, v.size)
                        for v in conn.block_storage.volumes()
                        if keep(v) and not (outside and '-gfd-' in (
                            v.name or ''))],
            'vpns': [(v.name, str(sorted(
                networks.get(a.network_id) for a in
                net.bgpvpn_network_associations(v))))
                for v in net.bgpvpns()],
        }
        for kind in ('sfc_port_pairs', 'sfc_port_pair_groups',
                     'sfc_flow_classifiers', 'sfc_port_chains'):
            found[kind] = [r.name for r in getattr(net, kind)() if keep(r)]
        return {kind: sorted(map(str, rows)) for kind, rows in found.items()}

    def snapshots(self, outside=True):
        return {cloud: self.site_snapshot(cloud, outside)
                for cloud in ('site-a', 'site-b')}

    def left(self, drill_id):
        """What of drill ``drill_id``'s copy is at site-b."""
        mark = 'drill=%s' % drill_id[:8]
        conn = self.connection('site-b')
        net = conn.network
        found = []
        for kind in ('networks', 'routers', 'ports', 'sfc_port_chains',
                     'sfc_port_pair_groups', 'sfc_port_pairs',
                     'sfc_flow_classifiers'):
            found += ['%s %s' % (kind, r.name) for r in getattr(net, kind)()
                      if mark in (r.description or '') or
                      (r.name or '').startswith('gfd-%s' % drill_id[:8])]
        found += ['server %s' % s.name for s in conn.compute.servers()
                  if mark in (s.metadata or {}).get('geoflows', '')]
        found += ['volume %s' % v.name for v in conn.block_storage.volumes()
                  if mark in (v.metadata or {}).get('geoflows', '') or
                  (v.name or '').endswith('gfd-%s' % drill_id[:8])]
        return found

    def run_killed(self, argv, points, stop_at=None):
        """Run ``argv``, killed at every point, resumed after each.

        Returns (job id, points killed at, exit status); with ``stop_at``
        (a point), it returns once killed there, not resumed.
        """
        points, killed = list(points), []
        job_id, rc, was_killed, out = test_takeover.run_until(
            self, argv, points, killed)
        if argv[:2] == ['job', 'resume']:
            job_id = argv[2]
        while was_killed and killed[-1] != stop_at:
            _, rc, was_killed, out = test_takeover.run_until(
                self, ['job', 'resume', job_id], points, killed)
        if stop_at is None:
            self.assertEqual(0, rc, '\n'.join(
                ['killed at %s' % (killed,)] + out))
        return job_id, killed

    def assertIsolatedCopy(self, drill_id, primary_ports):
        """The copy is the sample, on its own networks, with no way out.

        Its servers have the sample's names, its ports the same IPs, MACs
        and security groups, its chain runs through them.
        """
        b = self.connection('site-b')
        tag = 'gfd-%s' % drill_id[:8]
        nets = {n.id: n.name for n in b.network.networks()
                if n.name.startswith(tag)}
        self.assertEqual({tag + '-' + self.prefix + 'vnf-mgmt',
                          tag + '-' + self.prefix + 'vnf-data'},
                         set(nets.values()))
        routers = [r for r in b.network.routers() if r.name.startswith(tag)]
        self.assertTrue(routers)
        for router in routers:
            self.assertFalse(router.external_gateway_info, router.name)
        for vpn in b.network.bgpvpns():
            self.assertFalse({a.network_id for a in
                              b.network.bgpvpn_network_associations(vpn)} &
                             set(nets), vpn.name)
        servers = {s.name: s for s in b.compute.servers()
                   if ('drill=%s' % drill_id[:8]) in
                   (s.metadata or {}).get('geoflows', '')}
        self.assertEqual({self.prefix + n for n in (
            'hss-1', 'hss-2', 'pgw-1', 'pgw-2', 'fw-1', 'fw-2')},
            set(servers))
        self.assertEqual({'ACTIVE'}, {s.status for s in servers.values()})
        groups = {g.id: g.name for g in b.network.security_groups()}
        copy_ports = {p.name: (sorted(i['ip_address'] for i in p.fixed_ips),
                               p.mac_address,
                               sorted(groups[g] for g in
                                      p.security_group_ids))
                      for p in b.network.ports() if p.network_id in nets and
                      (p.name or '').startswith(self.prefix)}
        self.assertEqual(primary_ports, copy_ports)
        [chain] = [c for c in b.network.sfc_port_chains()
                   if c.name.startswith(tag)]
        self.assertEqual('%s-%sedge' % (tag, self.prefix), chain.name)

    def test_drilled_killed_resumed_then_kept_and_cleaned_up(self):
        self.deploy_and_protect()
        before = self.snapshots(outside=False)
        primary_ports = self.ports('site-a')

        # The drill, killed at six points, resumed after each, until it is
        # killed as its cleanup starts: the copy is whole then.
        started = time.monotonic()
        stop = CLEANUP_POINTS[0]
        drill_id, killed = self.run_killed(
            ['drill', '--plan', self.plan], DRILL_POINTS + [stop],
            stop_at=stop)
        self.assertEqual(DRILL_POINTS + [stop], killed)
        drill_seconds = time.monotonic() - started
        self.assertIsolatedCopy(drill_id, primary_ports)
        # Nothing outside the copy changed: the primary serves, the DR
        # site's standbys and the interconnect are what they were.
        self.assertEqual(before, self.snapshots())
        listed = self.geoflows('drill', 'list', '-f', 'json').json
        self.assertEqual([(drill_id, 'core', 'present', 'clean')],
                         [(r['Drill'], r['Group'], r['State'], r['Verify'])
                          for r in listed if r['Drill'] == drill_id])

        # Its cleanup, killed at five more points, resumed after each.
        started = time.monotonic()
        _, cleanup_killed = self.run_killed(['job', 'resume', drill_id],
                                            CLEANUP_POINTS[1:])
        cleanup_seconds = time.monotonic() - started
        self.assertEqual(CLEANUP_POINTS[1:], cleanup_killed)
        job = self.geoflows('job', 'show', drill_id, '-f', 'json').json
        self.assertEqual('SUCCESS', job['state'], job['error'])
        rows = self.report(job)
        self.assertEqual({'hss', 'pgw', 'fw'}, set(rows))
        for name, row in rows.items():
            self.assertTrue(row['ready'], (name, row))
            self.assertGreater(row['rto'], 0, name)
        self.assertIn('as checkpoint', job['verify'])
        self.assertEqual([], self.left(drill_id))
        self.assertEqual(before, self.snapshots(outside=False))
        listed = self.geoflows('drill', 'list', '-f', 'json').json
        self.assertEqual([], [r for r in listed if r['Drill'] == drill_id])

        # Its report, as data and as a page.
        report = self.geoflows('job', 'report', drill_id, '-f',
                               'json').json
        self.assertEqual('drill', report['operation'])
        page = self.tmp + '/drill.html'
        self.geoflows('job', 'report', drill_id, '--html', page)
        with open(page) as f:
            html = f.read()
        for vnf in ('hss', 'pgw', 'fw'):
            self.assertIn('core/%s' % vnf, html)

        # Kept, then removed by "geoflows drill cleanup".
        kept = self.run_job('drill', '--plan', self.plan, '--keep')
        self.assertEqual('SUCCESS', kept['state'], kept['error'])
        self.assertIsolatedCopy(kept['id'], primary_ports)
        self.assertEqual(before, self.snapshots())
        cleanup = self.run_job('drill', 'cleanup', kept['id'])
        self.assertEqual('SUCCESS', cleanup['state'], cleanup['error'])
        self.assertEqual([], self.left(kept['id']))
        self.assertEqual(before, self.snapshots(outside=False))
        self.assertEqual([], self.geoflows('drill', 'list', '-f',
                                           'json').json)
        self.record(drill_seconds_with_kills=round(drill_seconds, 1),
                    drill_kills=len(killed),
                    cleanup_seconds_with_kills=round(cleanup_seconds, 1),
                    cleanup_kills=1 + len(cleanup_killed),
                    rto={n: r['rto'] for n, r in rows.items()},
                    kept_drill_rto={n: r['rto'] for n, r in
                                    self.report(kept).items()})
