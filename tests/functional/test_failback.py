"""Reprotect and failback on two real regions, after a disaster takeover.

The sample VNFs (hss hot, pgw warm, fw cold, the chain ``edge`` through
pgw and fw) are taken over at site-b as after a disaster (the primary
answers: it is fenced), written to there, reprotected (site-b replicates
to site-a) and given back to site-a.  What the issue asks to be shown is
asserted here; a poller reads the chains of both sites during the whole
failback, from the outside.  Figures are recorded with
GEOFLOWS_TEST_MEASUREMENTS=FILE.
"""

import contextlib
import datetime
import os
import threading
import time

import openstack
import sqlalchemy as sa

from geoflows.testing import sample
from tests.functional import test_takeover

#: Where the failback is killed (see test_takeover.run_until): the final
#: reverse copies, the old VNFs' removal, the fresh VNFs at the origin, the
#: origin's chain and its check, the drains, the de-link, the switch, the
#: standbys and the report.
KILL_POINTS = [
    (r'core/\w+\.final', r'data\.\S+\.backup', 'RUNNING'),
    (r'core/\w+\.final', r'checkpoint\.vnf', 'SUCCESS'),
    (r'core\.final', r'checkpoint', 'SUCCESS'),
    (r'core\.retire', r'retire', 'RUNNING'),
    (r'core/hss', r'ready', 'SUCCESS'),
    (r'core/pgw', r'data\.\S+\.volume', 'RUNNING'),
    (r'core/fw', r'server\.\S+', 'RUNNING'),
    (r'core/pgw', r'\S+\.attachment', 'SUCCESS'),
    (r'core\.chain\.\S+', r'group\.\S+', 'SUCCESS'),
    (r'core\.chain\.\S+', r'chain', 'RUNNING'),
    (r'core\.origin', r'verify', 'SUCCESS'),
    (r'core/\w+\.drain', r'drain', 'RUNNING'),
    (r'core\.delink\.\S+', r'chain', 'RUNNING'),
    (r'core\.serving', r'serving', 'SUCCESS'),
    (r'core/fw\.standby', r'standby', 'RUNNING'),
    (r'core\.done', r'report', 'RUNNING'),
]
#: The points CI kills at (one or more of each phase); all of them with
#: GEOFLOWS_TEST_KILL_SWEEP=1 (about 80 s more).
CI_KILL_POINTS = [KILL_POINTS[i] for i in (0, 3, 4, 6, 8, 10, 11, 12, 13,
                                           14)]


class ChainPoller(object):
    """Reads the test's chains at both sites, from the outside.

    Until stopped: [(time, site, {chain: [pairs per group]}, {pair
    names})] in ``seen``.
    """

    def __init__(self, test):
        self.test = test
        self.seen = []
        self.errors = []
        self._stop = threading.Event()
        # Its own connections: the test's are used by its own thread.
        self.nets = {name: openstack.connection.Connection(
            config=test.connection(name).config).network
            for name in ('site-a', 'site-b')}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        self.test.addCleanup(self.stop)
        return self

    def stop(self):
        self._stop.set()
        self.thread.join(30)

    def _read(self, net):
        prefix = self.test.prefix
        groups = {g.id: g for g in net.sfc_port_pair_groups()}
        chains = {}
        for chain in net.sfc_port_chains():
            if chain.name.startswith(prefix):
                chains[chain.name] = [
                    len(groups[g].port_pairs or ()) if g in groups else -1
                    for g in chain.port_pair_groups or ()]
        pairs = {p.name for p in net.sfc_port_pairs()
                 if p.name.startswith(prefix)}
        return chains, pairs

    def _run(self):
        while not self._stop.is_set():
            for site, net in self.nets.items():
                try:
                    chains, pairs = self._read(net)
                except Exception as e:  # a listing raced a deletion
                    self.errors.append(str(e)[:200])
                    continue
                self.seen.append((time.time(), site, chains, pairs))
            self._stop.wait(0.2)

    def empty_groups(self):
        return [(t, site, chains) for t, site, chains, _p in self.seen
                if any(0 in counts for counts in chains.values())]

    def removals_before_origin(self, chain):
        """Times a DR pair disappeared while the origin had no chain."""
        found, origin_has, before = [], False, None
        for t, site, chains, pairs in self.seen:
            if site == 'site-a':
                origin_has = chain in chains
            elif before is not None and before - pairs and not origin_has:
                found.append((t, sorted(before - pairs)))
            if site == 'site-b':
                before = pairs
        return found

    def first_removal(self, since):
        """When a DR pair first disappeared after ``since``."""
        before = None
        for t, site, _chains, pairs in self.seen:
            if site != 'site-b':
                continue
            if t >= since and before is not None and before - pairs:
                return t
            before = pairs
        return None


class TestFailback(test_takeover.TakeoverCase):

    def drain_script(self):
        path = os.path.join(self.tmp, 'drain.sh')
        self.drain_log = os.path.join(self.tmp, 'drain.log')
        with open(path, 'w') as f:
            f.write('#!/bin/sh\necho "$GEOFLOWS_HOOK_POINT $GEOFLOWS_VNF '
                    '$(date +%%s.%%N)" >> %s\necho \'{"drained": true}\'\n'
                    % self.drain_log)
        os.chmod(path, 0o755)
        return [{'command': [path], 'timeout': 30}]

    def drains(self):
        if not os.path.exists(self.drain_log):
            return []
        with open(self.drain_log) as f:
            return [(line.split()[1], float(line.split()[2]))
                    for line in f.read().splitlines()]

    def origin_site(self):
        """The test's servers, ports and chain objects at site-a."""
        a = self.connection('site-a')
        net = a.network
        found = {'servers': sorted((s.name, s.status) for s in
                                   self.servers('site-a').values()),
                 'ports': sorted(self.ports('site-a').items())}
        for kind in ('sfc_port_pairs', 'sfc_port_pair_groups',
                     'sfc_flow_classifiers', 'sfc_port_chains'):
            found[kind] = sorted(r.name for r in getattr(net, kind)()
                                 if r.name.startswith(self.prefix))
        return found

    def dr_volume_of(self, server, name):
        """The DR volume ``name`` attached to DR server ``server``."""
        b = self.connection('site-b')
        [found] = [b.block_storage.get_volume(a.volume_id)
                   for a in b.compute.volume_attachments(
                       self.servers('site-b')[self.prefix + server])
                   if b.block_storage.get_volume(a.volume_id).name ==
                   self.prefix + name]
        return found

    def origin_sha256(self, server):
        a = self.connection('site-a')
        return {att.device: self.minicloud.volume_sha256('RegionOne',
                                                         att.volume_id)
                for att in a.compute.volume_attachments(
                    self.servers('site-a')[self.prefix + server])}

    def test_given_back_killed_reverted_resumed_make_before_break(self):
        hooks = self.drain_script()
        self.ids = self.deploy_sample()
        self.addCleanup(sample.remove, self.connection('site-b'),
                        self.prefix)
        self.plan = self.protection_plan(hooks={
            vnf: {'drain': hooks} for vnf in ('hss', 'pgw', 'fw')})
        for argv in (('protect', '--plan', self.plan),
                     ('sync', '--plan', self.plan)):
            job = self.run_job(*argv)
            self.assertEqual('SUCCESS', job['state'], job['error'])
        pre_disaster = self.geoflows(
            'checkpoint', 'list', '--plan', self.plan, '-f', 'json').json[0]
        primary_ports = self.ports('site-a')
        taken = self.run_job('takeover', '--plan', self.plan, '--disaster',
                             '--confirm-primary-lost')
        self.assertEqual('SUCCESS', taken['state'], taken['error'])

        refused = self.geoflows('failback', '--plan', self.plan, expect=1)
        self.assertIn('reprotect it after its takeover', refused.stderr)
        started = time.monotonic()
        job = self.run_job('reprotect', '--plan', self.plan)
        reprotect_seconds = time.monotonic() - started
        self.assertEqual('SUCCESS', job['state'], job['error'])
        self.assertIn('SUCCESS', job['sync'])
        rows = self.geoflows('protection', 'status', '--plan', self.plan,
                             '--no-dr-site', '-f', 'json', expect=None).json
        self.assertEqual({'west -> east'}, {r['Replicates'] for r in rows})

        # Written at the DR site during the disaster, then synced back.
        written = {}
        for server, volume, text in (('pgw-1', 'pgw-1-cfg', 'at west pgw '),
                                     ('fw-1', 'fw-1-logs', 'at west fw ')):
            vol = self.dr_volume_of(server, volume)
            self.minicloud.write_volume('RegionTwo', vol.id, 8192,
                                        text.encode() * 1000)
            written[server] = self.minicloud.volume_sha256('RegionTwo',
                                                           vol.id)
        sync = self.run_job('sync', '--plan', self.plan)
        self.assertEqual('SUCCESS', sync['state'], sync['error'])

        # Refusals: nothing changes, no job is made.
        with self.aged_reverse_checkpoint(hours=1):
            self.assertRefused(['failback', '--plan', self.plan],
                               'over its RPO')
        [old] = [s for s in self.servers('site-a').values()
                 if s.name == self.prefix + 'pgw-2']
        self.connection('site-a').compute.start_server(old.id)
        self.connection('site-a').compute.wait_for_server(old,
                                                          status='ACTIVE')
        self.assertRefused(['failback', '--plan', self.plan],
                           'still run at east: %spgw-2 (ACTIVE)'
                           % self.prefix)
        self.connection('site-a').compute.stop_server(old.id)
        self.connection('site-a').compute.wait_for_server(old,
                                                          status='SHUTOFF')
        saved = self.clouds['site-a']
        self.clouds['site-a'] = dict(saved, auth=dict(
            saved['auth'], auth_url='http://127.0.0.1:9/identity'))
        self.write_clouds()
        self.assertRefused(['failback', '--plan', self.plan],
                           'a failback needs the origin')
        self.clouds['site-a'] = saved
        self.write_clouds()

        dr_serving = self.dr_site()
        poller = ChainPoller(self).start()
        edge = self.prefix + 'edge'

        # Killed after a DR chain was removed: the revert brings the
        # DR-serving state back, chains included.
        points, killed = [(r'core\.delink\.\S+', r'chain', 'SUCCESS')], []
        half, rc, was_killed, out = test_takeover.run_until(
            self, ['failback', '--plan', self.plan, '--drain-time', '0'],
            points, killed)
        self.assertTrue(was_killed, '\n'.join(out))
        self.assertNotIn(edge, [c.name for c in self.connection(
            'site-b').network.sfc_port_chains()])
        reverted = self.run_job('job', 'revert', half)
        self.assertEqual('REVERTED', reverted['state'], reverted['error'])
        self.assertEqual(dr_serving, self.dr_site())
        self.assertChainThrough('site-b')
        self.assertEqual([], [s for s in self.servers('site-a').values()
                              if s.metadata.get('geoflows')])
        rows = self.geoflows('protection', 'status', '--plan', self.plan,
                             '--no-dr-site', '-f', 'json', expect=None).json
        self.assertEqual({'west -> east'}, {r['Replicates'] for r in rows})

        # Killed at ten points and more, resumed after each.
        points, killed = list(
            KILL_POINTS if os.environ.get('GEOFLOWS_TEST_KILL_SWEEP') == '1'
            else CI_KILL_POINTS), []
        run_started = time.time()
        started = time.monotonic()
        job_id, rc, was_killed, out = test_takeover.run_until(
            self, ['failback', '--plan', self.plan, '--no-sync'], points,
            killed)
        while was_killed:
            _, rc, was_killed, out = test_takeover.run_until(
                self, ['job', 'resume', job_id], points, killed)
        seconds = time.monotonic() - started
        poller.stop()
        self.assertEqual(0, rc, '\n'.join(['killed at %s' % (killed,)] +
                                          out))
        self.assertGreaterEqual(len(killed), 10, (killed, points))
        job = self.geoflows('job', 'show', job_id, '-f', 'json').json
        self.assertEqual('SUCCESS', job['state'], job['error'])

        # Make-before-break, seen from the outside.
        self.assertEqual([], poller.empty_groups())
        self.assertEqual([], poller.removals_before_origin(edge))
        removal = poller.first_removal(run_started)
        self.assertIsNotNone(removal)
        drained = {vnf: t for vnf, t in self.drains() if t >= run_started}
        self.assertEqual({'hss', 'pgw', 'fw'}, set(drained))
        self.assertLess(max(drained['pgw'], drained['fw']), removal)

        # The origin serves, what it was before the disaster, with the
        # bytes written at the DR site.
        verify = self.geoflows('protection', 'verify', '--plan', self.plan,
                               '--site', 'east', '--checkpoint',
                               pre_disaster['ID'])
        self.assertIn('no difference', verify.stdout)
        self.assertEqual(primary_ports, self.ports('site-a'))
        self.assertChainThrough('site-a')
        origin = self.origin_site()
        for kind, entries in origin.items():
            names = [e[0] if isinstance(e, tuple) else e for e in entries]
            self.assertEqual(sorted(set(names)), names, kind)
        for server, sha in written.items():
            self.assertIn(sha, self.origin_sha256(server).values(), server)

        # The DR site stands by: hot and warm spares running, de-linked;
        # nothing of the cold firewall.
        servers = self.servers('site-b')
        self.assertEqual({self.prefix + n for n in ('hss-1', 'hss-2',
                                                    'pgw-1', 'pgw-2')},
                         set(servers))
        self.assertEqual({'ACTIVE'}, {s.status for s in servers.values()})
        site = self.dr_site()
        for kind in ('sfc_port_pairs', 'sfc_port_pair_groups',
                     'sfc_flow_classifiers', 'sfc_port_chains'):
            self.assertEqual([], site[kind], kind)
        self.assertFalse([p for p in self.ports('site-b')
                          if p.startswith(self.prefix + 'fw-')])
        self.assertEqual([], list(self.connection(
            'site-b').compute.volume_attachments(
                servers[self.prefix + 'pgw-1'])))

        # Forward again: the next sync reads the origin.
        sync = self.run_job('sync', '--plan', self.plan)
        self.assertEqual('SUCCESS', sync['state'], sync['error'])
        newest = self.geoflows('checkpoint', 'list', '--plan', self.plan,
                               '-f', 'json').json[0]
        self.assertEqual(('east', 'west'), (newest['From'], newest['At']))
        verify = self.geoflows('protection', 'verify', '--plan', self.plan)
        self.assertIn('no difference', verify.stdout)
        refused = self.geoflows('job', 'revert', job_id, expect=1)
        self.assertIn('the origin serves group core', refused.stderr)

        report = {row['vnf']: row for row in job['report']}
        self.record(failback_kills=len(killed),
                    failback_seconds_with_kills=round(seconds, 1),
                    reprotect_seconds=round(reprotect_seconds, 1),
                    failback_report=report)

    @contextlib.contextmanager
    def aged_reverse_checkpoint(self, hours):
        """The newest checkpoint from the DR site, as if ``hours`` old."""
        from geoflows import checkpoints
        from geoflows import store as store_mod
        from geoflows.store import tables
        store = store_mod.StateStore(store_mod.default_url(os.path.join(
            self.tmp, 'state')))
        self.addCleanup(store.close)
        newest = checkpoints.latest(store, self.name, 'core',
                                    source_site='west')
        cps, parts = tables.checkpoints, tables.checkpoint_vnfs

        def shift(delta):
            # In Python: SQLite keeps the times as text.
            with store.engine.begin() as conn:
                for table, key in ((cps, cps.c.id),
                                   (parts, parts.c.checkpoint_id)):
                    rows = conn.execute(sa.select(table).where(
                        key == newest.id)).all()
                    for row in rows:
                        where = key == newest.id
                        if table is parts:
                            where = where & (parts.c.vnf == row.vnf)
                        conn.execute(table.update().where(where).values(
                            consistent_at=row.consistent_at + delta))
        shift(-datetime.timedelta(hours=hours))
        try:
            yield newest
        finally:
            shift(datetime.timedelta(hours=hours))

    def assertRefused(self, argv, message):
        before = (self.dr_site(), self.origin_site(),
                  len(self.geoflows('job', 'list', '-f', 'json').json))
        refused = self.geoflows(*argv, expect=1)
        self.assertIn(message, refused.stderr)
        self.assertEqual(before, (self.dr_site(), self.origin_site(), len(
            self.geoflows('job', 'list', '-f', 'json').json)))
