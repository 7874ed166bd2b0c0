"""Takeover on two real regions: planned, disaster, order, isolation, kills.

The sample VNFs (geoflows.testing.sample: hss hot at priority 1, pgw warm
and fw cold at priority 2, pgw depending on hss, the chain ``edge``
through pgw and fw) run at site-a and are protected at site-b.  What the
issue asks to be shown is asserted here; the figures (measured RTO per
VNF against the predicted one, the kills and resumes) are recorded with
GEOFLOWS_TEST_MEASUREMENTS=FILE.
"""

import os
import re
import signal
import socket
import subprocess
import time

from geoflows.testing import sample
from tests.functional import base
from tests.functional import protection

#: Where the planned takeover is killed: the first step event of a run
#: that matches one of the points left (unit, step, state) kills it, and
#: the job is resumed, until the job ends.  In the order they come; a
#: point the job passed while another one was taken is dropped.
KILL_POINTS = [
    (r'core/\w+\.final', r'stop\.\S+', 'SUCCESS'),
    (r'core/\w+\.final', r'data\.\S+\.backup', 'RUNNING'),
    (r'core/\w+\.final', r'data\.\S+\.imported', 'SUCCESS'),
    (r'core/\w+\.final', r'checkpoint\.vnf', 'SUCCESS'),
    (r'core\.final', r'checkpoint', 'SUCCESS'),
    (r'core/hss', r'ready', 'SUCCESS'),
    (r'core/pgw', r'data\.\S+\.volume', 'RUNNING'),
    (r'core/fw', r'data\.\S+\.volume', 'SUCCESS'),
    (r'core/fw', r'port\.\S+', 'SUCCESS'),
    (r'core/fw', r'server\.\S+', 'RUNNING'),
    (r'core/fw', r'server\.\S+', 'SUCCESS'),
    (r'core/pgw', r'\S+\.attachment', 'SUCCESS'),
    (r'core/fw', r'\S+\.attachment', 'RUNNING'),
    (r'core\.chain\.\S+', r'pair\.\S+', 'SUCCESS'),
    (r'core\.chain\.\S+', r'group\.\S+', 'SUCCESS'),
    (r'core\.chain\.\S+', r'classifier\.\S+', 'SUCCESS'),
    (r'core\.chain\.\S+', r'chain', 'RUNNING'),
    (r'core\.done', r'verify', 'SUCCESS'),
]


class BlackHole(object):
    """A TCP address that accepts connections and never answers."""

    def __init__(self, test):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        test.addCleanup(self.sock.close)
        self.url = 'http://127.0.0.1:%d/identity' % self.sock.getsockname()[1]


class TakeoverCase(protection.ProtectionTestCase):

    def setUp(self):
        super().setUp()
        # A primary that does not answer is given up on after 10 s.
        self.env['OS_PROTECTION__FENCE_TIMEOUT'] = '10'

    def deploy_and_protect(self):
        self.ids = self.deploy_sample()
        # What the takeover makes at site-b carries the sample's names:
        # removed like the sample (before what it uses).
        self.addCleanup(sample.remove, self.connection('site-b'),
                        self.prefix)
        self.plan = self.protection_plan()
        self.assertEqual('SUCCESS', self.run_job(
            'protect', '--plan', self.plan)['state'])
        sync = self.run_job('sync', '--plan', self.plan)
        self.assertEqual('SUCCESS', sync['state'], sync['error'])

    def write(self, volume, offset, text):
        """Bytes written into a primary volume; their volume's sha256."""
        vol = self.connection('site-a').block_storage.find_volume(
            self.prefix + volume)
        self.minicloud.write_volume('RegionOne', vol.id, offset,
                                    text.encode() * 1000)
        return self.minicloud.volume_sha256('RegionOne', vol.id)

    def predicted(self, *mode):
        found = self.geoflows('takeover', '--plan', self.plan, '--dry-run',
                              '-f', 'json', *mode).json
        return {row['vnf']: row['ready'] for row in found['vnfs']}

    # -- what runs where ---------------------------------------------------

    def ports(self, cloud_name):
        """Port name -> (fixed IPs, MAC, security group names)."""
        net = self.connection(cloud_name).network
        groups = {g.id: g.name for g in net.security_groups()}
        return {p.name: (sorted(i['ip_address'] for i in p.fixed_ips),
                         p.mac_address,
                         sorted(groups[g] for g in p.security_group_ids))
                for p in net.ports() if (p.name or '').startswith(
                    self.prefix)}

    def servers(self, cloud_name):
        compute = self.connection(cloud_name).compute
        return {s.name: s for s in compute.servers()
                if s.name.startswith(self.prefix)}

    def attached_sha256(self, server):
        """sha256 of each volume attached to a DR server, by device."""
        compute = self.connection('site-b').compute
        return {a.device: self.minicloud.volume_sha256('RegionTwo',
                                                       a.volume_id)
                for a in compute.volume_attachments(server)}

    def dr_site(self):
        """What the test's names have at site-b, without ids (to compare)."""
        b = self.connection('site-b')
        net = b.network
        found = {
            'servers': sorted((s.name, s.status)
                              for s in self.servers('site-b').values()),
            'ports': sorted(self.ports('site-b').items()),
            'volumes': sorted(v.name for v in b.block_storage.volumes()
                              if self.marker() in (v.description or '') or
                              v.name.startswith(self.prefix)),
        }
        for kind in ('sfc_port_pairs', 'sfc_port_pair_groups',
                     'sfc_flow_classifiers', 'sfc_port_chains'):
            found[kind] = sorted(r.name for r in getattr(net, kind)()
                                 if r.name.startswith(self.prefix))
        return found

    def assertNoDuplicateAtDr(self):
        site = self.dr_site()
        for kind, entries in site.items():
            names = [e[0] if isinstance(e, tuple) else e for e in entries]
            self.assertEqual(sorted(set(names)), names, kind)

    def assertConnectedTheSameWay(self):
        """Servers per VNF, IPs, MACs, security groups, the chain."""
        a_servers, b_servers = self.servers('site-a'), self.servers('site-b')
        self.assertEqual(sorted(a_servers), sorted(b_servers))
        self.assertEqual({'ACTIVE'}, {s.status for s in b_servers.values()})
        primary_ports = self.ports('site-a')
        dr_ports = self.ports('site-b')
        for name, port in primary_ports.items():
            self.assertEqual(port, dr_ports.get(name), name)
        self.assertChainThrough('site-b')

    def assertChainThrough(self, cloud_name):
        """The sample's chain at ``cloud_name``, through its ports there."""
        net = self.connection(cloud_name).network
        ports = {p.id: p.name for p in net.ports()}
        [chain] = [c for c in net.sfc_port_chains()
                   if c.name == self.prefix + 'edge']
        groups = [net.get_sfc_port_pair_group(g)
                  for g in chain.port_pair_groups]
        self.assertEqual([self.prefix + 'pgw-group', self.prefix + 'fw-group'],
                         [g.name for g in groups])
        pairs = [net.get_sfc_port_pair(p) for g in groups
                 for p in g.port_pairs]
        self.assertEqual([self.prefix + 'pgw-1-data'] * 2 +
                         [self.prefix + 'fw-1-data'] * 2,
                         [ports[x] for p in pairs for x in (p.ingress,
                                                            p.egress)])
        [fc] = [net.get_sfc_flow_classifier(f)
                for f in chain.flow_classifiers]
        self.assertEqual(self.prefix + 'hss-1-data',
                         ports[fc.logical_source_port])
        self.assertEqual((80, 80), (fc.destination_port_range_min,
                                    fc.destination_port_range_max))
        self.assertEqual('mpls', chain.chain_parameters['correlation'])

    def assertInOrder(self, job_id):
        """Priority 1 ready before any step of priority 2; deps; chain."""
        steps = self.job_steps(job_id)

        def first_start(unit):
            return min(s['started_at'] for s in steps
                       if s['unit'] == unit and s['started_at'])

        def ready(unit):
            [step] = [s for s in steps
                      if s['unit'] == unit and s['step'] == 'ready']
            return step['finished_at']

        self.assertLess(ready('core/hss'), first_start('core/pgw'))
        self.assertLess(ready('core/hss'), first_start('core/fw'))
        chain_start = first_start('core.chain.%sedge' % self.prefix)
        self.assertLess(ready('core/pgw'), chain_start)
        self.assertLess(ready('core/fw'), chain_start)

    def report(self, job):
        return {row['vnf']: row for row in job['report']}


def run_until(test, argv, points, killed):
    """Run geoflows ``argv`` --progress; SIGKILL it at the first point.

    ``points``: [(unit, step, state)] regular expressions; the one that
    killed the run is removed and appended to ``killed``.  Returns (job id,
    exit status, whether it was killed).
    """
    proc = subprocess.Popen(
        [base.GEOFLOWS] + argv + ['--progress'], stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, env=test.env)
    test.addCleanup(proc.wait)
    job_id, hit, lines = None, None, []
    for line in proc.stderr:
        lines = (lines + [line.rstrip()[:300]])[-40:]
        words = line.split()
        if words[:1] == ['job'] and job_id is None:
            job_id = words[1].rstrip(':')
        if len(words) < 4:
            continue
        for point in points:
            unit, step, state = point
            if re.match(unit + '$', words[1]) and \
                    re.match(step + '$', words[2]) and words[3] == state:
                os.kill(proc.pid, signal.SIGKILL)
                hit = point
                break
        if hit:
            break
    proc.wait()
    proc.stderr.close()
    if hit:
        test.assertEqual(-signal.SIGKILL, proc.returncode)
        points.remove(hit)
        killed.append(hit)
    return job_id, proc.returncode, bool(hit), lines


class TestPlannedMigration(TakeoverCase):

    def test_killed_resumed_verified_then_reverted(self):
        self.deploy_and_protect()
        before = self.dr_site()
        predicted = self.predicted('--planned')
        # Bytes written just before the takeover reach the DR site.
        written = {'pgw-1': self.write('pgw-1-cfg', 8192, 'planned pgw '),
                   'fw-1': self.write('fw-1-logs', 4096, 'planned fw ')}

        points, killed = list(KILL_POINTS), []
        started = time.monotonic()
        job_id, rc, was_killed, out = run_until(
            self, ['takeover', '--plan', self.plan, '--planned'], points,
            killed)
        while was_killed:
            # Whatever the point, a resume finishes the migration.
            _, rc, was_killed, out = run_until(
                self, ['job', 'resume', job_id], points, killed)
        seconds = time.monotonic() - started
        self.assertEqual(0, rc, '\n'.join(['killed at %s' % (killed,)] +
                                          out))
        self.assertGreaterEqual(len(killed), 10, (killed, points))
        job = self.geoflows('job', 'show', job_id, '-f', 'json').json
        self.assertEqual('SUCCESS', job['state'], job['error'])

        # Connected the same way, verified, no data lost.
        self.assertConnectedTheSameWay()
        self.assertNoDuplicateAtDr()
        verify = self.geoflows('protection', 'verify', '--plan', self.plan)
        self.assertIn('no difference', verify.stdout)
        self.assertEqual({'SHUTOFF'}, {s.status for s in
                                       self.servers('site-a').values()})
        for server, sha in written.items():
            self.assertIn(sha, self.attached_sha256(
                self.servers('site-b')[self.prefix + server]).values(),
                server)
        report = self.report(job)
        self.assertEqual({'hss', 'pgw', 'fw'}, set(report))
        self.assertTrue(all(row['ready'] for row in report.values()))
        self.assertEqual({0}, {row['rpo'] for row in report.values()})
        self.assertInOrder(job_id)

        # A rehearsal undone: the DR site as it was, the primary serving.
        reverted = self.run_job('job', 'revert', job_id)
        self.assertEqual('REVERTED', reverted['state'], reverted['error'])
        self.assertEqual(before, self.dr_site())
        self.assertEqual({'ACTIVE'}, {s.status for s in
                                      self.servers('site-a').values()})
        self.record(planned_kills=len(killed),
                    planned_seconds_with_kills=round(seconds, 1),
                    planned_rto={k: v['rto'] for k, v in report.items()},
                    planned_predicted=predicted)


class TestDisasterTakeover(TakeoverCase):

    def test_unreachable_primary_partial_then_resumed(self):
        self.deploy_and_protect()
        checkpointed = self.write('pgw-1-cfg', 8192, 'in the checkpoint ')
        sync = self.run_job('sync', '--plan', self.plan)
        self.assertEqual('SUCCESS', sync['state'], sync['error'])
        self.write('pgw-1-cfg', 8192, 'lost with the primary ')
        predicted = self.predicted('--disaster')

        # The cold firewall cannot come up: its image is gone at site-b.
        b = self.connection('site-b')
        [image] = [i for i in b.image.images()
                   if i.name == self.prefix + 'vnf-image']
        b.image.delete_image(image.id)
        before = {s.name for s in self.servers('site-b').values()}
        # The primary is lost: its API accepts connections, never answers
        # (the test's own connection, made before, still reads it).
        self.clouds['site-a'] = dict(self.clouds['site-a'], auth=dict(
            self.clouds['site-a']['auth'], auth_url=BlackHole(self).url))
        self.write_clouds()

        refused = self.geoflows('takeover', '--plan', self.plan,
                                '--disaster', expect=1)
        self.assertIn('--confirm-primary-lost', refused.stderr)
        started = time.monotonic()
        job = self.run_job('takeover', '--plan', self.plan, '--disaster',
                           '--confirm-primary-lost', expect=1)
        partial_seconds = time.monotonic() - started
        self.assertEqual('PARTIAL', job['state'], job['error'])
        self.assertIn('core/fw', job['failed'])
        self.assertIn('does not exist', job['failed'])
        self.assertIn('core.chain.%sedge' % self.prefix, job['skipped'])
        self.assertIn('geoflows job resume %s' % job['id'], job['next'])
        # Nothing of the firewall left half-built; the others ready.
        self.assertEqual(before, set(self.servers('site-b')))
        self.assertFalse([p for p in self.ports('site-b')
                          if p.startswith(self.prefix + 'fw-1')])
        self.assertFalse([v.name for v in b.block_storage.volumes()
                          if v.name.startswith(self.prefix + 'fw-1')])
        self.assertEqual({'ACTIVE'}, {s.status for s in
                                      self.servers('site-b').values()})
        # Not fenced: said by the job and the status; sync refuses.
        [fence] = [s for s in self.job_steps(job['id'])
                   if s['step'] == 'fence']
        self.assertEqual('SUCCESS', fence['state'])
        rows = self.geoflows('protection', 'status', '--plan', self.plan,
                             '--no-dr-site', '-f', 'json', expect=None).json
        self.assertEqual({'not fenced'}, {r['Fence'] for r in rows})
        refused = self.geoflows('sync', '--plan', self.plan, expect=1)
        self.assertIn('is not fenced', refused.stderr)
        self.assertIn('protection fence', refused.stderr)

        # The image back, the resume brings the rest up.
        b.image.create_image(
            self.prefix + 'vnf-image', data=sample.image_data(),
            disk_format='raw', container_format='bare',
            geoflows_source=self.ids['vnf-image'],
            geoflows=self.marker() + 'group=core')
        resumed = self.run_job('job', 'resume', job['id'])
        self.assertEqual('SUCCESS', resumed['state'], resumed['error'])
        servers = self.servers('site-b')
        self.assertEqual({self.prefix + n for n in (
            'hss-1', 'hss-2', 'pgw-1', 'pgw-2', 'fw-1', 'fw-2')},
            set(servers))
        self.assertEqual({'ACTIVE'}, {s.status for s in servers.values()})
        self.assertNoDuplicateAtDr()
        # From the last checkpoint: what was written after it is lost.
        self.assertIn(checkpointed, self.attached_sha256(
            servers[self.prefix + 'pgw-1']).values())
        report = self.report(resumed)
        self.assertTrue(all(row['ready'] for row in report.values()))
        self.assertTrue(all(row['rpo'] > 0 for row in report.values()),
                        report)
        self.record(partial_seconds=round(partial_seconds, 1),
                    disaster_rto={k: v['rto'] for k, v in report.items()},
                    disaster_rpo={k: v['rpo'] for k, v in report.items()},
                    disaster_predicted=predicted)
