"""Scheduled syncs by two real conductors, and their Prometheus figures.

Two of the sample's VNFs (``hss``, replicated by the application, and
``fw``, by Cinder backups of its one 1 GiB volume) are protected from
site-a to site-b by a ``protect`` job run once through the runner; then
two ``geoflows conductor`` processes share the test's PostgreSQL database
and a Redis jobboard (a key prefix of the test's own), each serving the
metrics on a port of its own.  Their schedulers read the group from the
state store (``gf_protection``, written by protect, with the plan) and
sync it every 30 s.

Over the run (GEOFLOWS_TEST_SCHEDULE_MINUTES, 2 by default: 4 intervals)
the test checks one sync per interval, each with its slot's job id
(geoflows.schedule.sync_job_id) and a checkpoint in the store, never two
syncs running at once; the conductor running a sync in the middle of the
run is SIGKILLed, the other finishes that sync and the syncs go on at the
same pace; both metrics endpoints, scraped all along, show the RPO and
state per VNF that geoflows.protection_status.of_plan computes from the
same store at that instant.  The figures (intervals between syncs, the
gap around the kill, sync durations) are a detail of the test and, with
GEOFLOWS_TEST_MEASUREMENTS=FILE, a line of that file.
"""

import datetime
import json
import os
import re
import statistics
import time
import urllib.request

from prometheus_client import parser as prom_parser

from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import clouds as clouds_mod
from geoflows import conf as conf_mod
from geoflows import jobs
from geoflows import operations
from geoflows import plan as plan_mod
from geoflows import protection_status
from geoflows import runner as runner_mod
from geoflows import schedule
from geoflows import secrets
from geoflows import store as store_mod
from geoflows.testing.minicloud import process
from tests.functional import base
from tests.functional import fixtures as f_fixtures
from tests.functional import protection
from tests.unit import databases
from tests.unit import jobboards

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
INTERVAL = 30
GROUP = 'core'
VNFS = ('hss', 'fw')
#: how long the conductors sync the group (CI: 2 minutes, ~4 intervals)
MINUTES = float(os.environ.get('GEOFLOWS_TEST_SCHEDULE_MINUTES', '2'))
EXPIRY = int(os.environ.get('GEOFLOWS_TEST_CLAIM_EXPIRY', '6'))
#: how often the schedulers look at the store ([conductor]
#: schedule_interval, its default)
POLL = 5.0
#: how often the steps look whether a snapshot or backup is made
#: ([protection] ready_interval; 5 s by default, 3 such waits a sync)
READY_INTERVAL = 1.0


def group_yaml(prefix):
    return '''\
protection_groups:
  - name: %(group)s
    primary: east
    dr: west
    rpo: 90s
    rto: 15m
    sync_interval: %(interval)ds
    retention: 2
    vnfs:
      - name: hss
        priority: 1
        standby: hot
        servers: [%(p)shss-1, %(p)shss-2]
        replication: application
      - name: fw
        priority: 2
        standby: cold
        servers: {selector: {vnf: fw, sample: %(p)s}}
        replication: backup
''' % {'group': GROUP, 'interval': INTERVAL, 'p': prefix}


def scrape(port):
    """{(metric, labels...): value} of a metrics endpoint."""
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port,
                                timeout=10) as answer:
        text = answer.read().decode('utf-8')
    values = {}
    for family in prom_parser.text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name,) + tuple(sorted(sample.labels.items()))
            values[key] = sample.value
    return values


def key(metric, **labels):
    return (metric,) + tuple(sorted(labels.items()))


def unix(when):
    return (when - datetime.datetime(1970, 1, 1)).total_seconds()


def spread(values):
    if not values:
        return None
    return {'min': round(min(values), 2),
            'median': round(statistics.median(values), 2),
            'max': round(max(values), 2), 'count': len(values)}


class TestScheduledSyncs(protection.ProtectionTestCase):

    def setUp(self):
        super().setUp()
        for reason in (databases.PostgreSQLDatabase.unreachable(),
                       jobboards.RedisBoard.unreachable()):
            if reason:
                self.fail(reason)
        self.url = databases.use(self, databases.PostgreSQLDatabase)
        self.board = jobboards.use(self, 'redis')
        self.env.update(self.board.env())
        self.env.update({
            'OS_STATE__CONNECTION': self.url,
            'OS_JOBBOARD__CLAIM_EXPIRY': str(EXPIRY),
            'OS_CONDUCTOR__POLL_INTERVAL': '0.2',
            'OS_CONDUCTOR__SCHEDULE_INTERVAL': str(POLL),
            'OS_PROTECTION__READY_INTERVAL': str(READY_INTERVAL),
        })
        self.store = store_mod.StateStore(self.url)
        self.addCleanup(self.store.close)
        self.conductors = {}
        self.ports = {}

    # -- helpers ---------------------------------------------------------

    def write_plan(self):
        text = 'version: 1\nname: %s\n' % self.name
        text += base.SITES % {'west_cloud': 'site-b'}
        text += group_yaml(self.prefix)
        path = os.path.join(self.tmp, 'plan-%s.yaml' % self.name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def protect(self, plan):
        """Run the protect job here, through the runner, on the store."""
        conf = conf_mod.load([])
        runner = runner_mod.Runner(
            self.store, clouds_mod.Clouds(config_file=self.clouds_yaml),
            secrets.SecretResolver(os.path.join(self.tmp, 'master.key')),
            dict(operations.options_from_config(conf),
                 ready_interval=READY_INTERVAL), owner='test-protect')
        self.addCleanup(runner.close)
        started = time.monotonic()
        job = runner.start('protect', plan, [GROUP])
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        return time.monotonic() - started

    def start_conductor(self, name):
        port = process.free_port()
        env = dict(self.env, OS_CONDUCTOR__METRICS_PORT=str(port))
        proc = self.useFixture(f_fixtures.ConductorProcess(
            [base.GEOFLOWS, 'conductor', '--name', name], env, cwd=REPO))
        self.addOnException(lambda _exc_info: self.addDetail(
            'conductor-%s' % name, protection._text(proc.text())))
        self.conductors[name] = proc
        self.ports[name] = port
        return proc

    def alive(self):
        return {n: p for n, p in self.conductors.items()
                if p.proc.poll() is None}

    def sync_jobs(self):
        return [j for j in self.store.list_jobs()
                if j.operation == 'sync' and j.plan_name == self.name]

    def executions(self, killed, ids):
        """(start, end, conductor, job id) of each run of a sync job.

        From the conductors' logs (monotonic times of the test's clock);
        the run cut by the kill ends at the kill.
        """
        start = re.compile(r'conductor (\S+): (?:run|resume) job (\S+) '
                           r'\(sync of plan')
        end = re.compile(r'conductor (\S+): job (\S+)(?: ended| suspended|: )')
        found = []
        for name, proc in self.conductors.items():
            open_runs = {}
            with proc.changed:
                lines = list(proc.lines)
            for when, line in lines:
                m = start.search(line)
                if m and m.group(2) in ids:
                    open_runs[m.group(2)] = when
                    continue
                m = end.search(line)
                if m and m.group(2) in open_runs:
                    found.append((open_runs.pop(m.group(2)), when, name,
                                  m.group(2)))
            for job_id, when in open_runs.items():
                self.assertIsNotNone(killed, (name, job_id))
                self.assertEqual(killed[1], name, job_id)
                found.append((when, killed[0], name, job_id))
        return sorted(found)

    def compare_metrics(self, plan, name, comparisons):
        """Scrape ``name``'s endpoint between two readings of the store.

        The RPO scraped must lie between the two readings' (one decimal,
        as both round), its state be one of theirs; a sample where a
        checkpoint completed in between is left out (returns False).
        """
        before = {r.vnf: r for r in protection_status.of_plan(
            self.store, plan, [GROUP], now=checkpoints.utcnow())}
        values = scrape(self.ports[name])
        after = {r.vnf: r for r in protection_status.of_plan(
            self.store, plan, [GROUP], now=checkpoints.utcnow())}
        if any(before[v].checkpoint != after[v].checkpoint for v in VNFS) \
                or any(before[v].last_sync_error != after[v].last_sync_error
                       for v in VNFS):
            return False
        for vnf in VNFS:
            labels = {'plan': self.name, 'group': GROUP, 'vnf': vnf}
            was, now = before[vnf], after[vnf]
            rpo = values.get(key('geoflows_rpo_seconds', **labels))
            if was.rpo is None:
                self.assertIsNone(rpo, (name, vnf, values))
            else:
                self.assertIsNotNone(rpo, (name, vnf, values))
                self.assertGreaterEqual(rpo, was.rpo - 0.1, (name, vnf))
                self.assertLessEqual(rpo, now.rpo + 0.1, (name, vnf))
            self.assertEqual(was.rpo_target, values[key(
                'geoflows_rpo_target_seconds', **labels)])
            states = {s for s in (protection_status.OK,
                                  protection_status.AT_RISK,
                                  protection_status.VIOLATED)
                      if values[key('geoflows_rpo_state', state=s,
                                    **labels)] == 1}
            self.assertEqual(1, len(states), (name, vnf, values))
            self.assertIn(states.pop(), {was.state, now.state},
                          (name, vnf, was, now))
            comparisons.append({'conductor': name, 'vnf': vnf, 'rpo': rpo,
                                'state': now.state})
        group = {'plan': self.name, 'group': GROUP}
        self.assertEqual(1 if after[VNFS[0]].last_sync_error else 0,
                         values[key('geoflows_sync_failing', **group)])
        newest = checkpoints.latest(self.store, self.name, GROUP)
        last = values.get(key('geoflows_last_checkpoint_timestamp_seconds',
                              **group))
        if newest is None:
            self.assertIsNone(last)
        else:
            self.assertAlmostEqual(unix(newest.consistent_at), last,
                                   delta=0.002)
        return True

    # -- the test --------------------------------------------------------

    def test_two_conductors_sync_once_per_interval_one_killed(self):
        self.deploy_sample()
        path = self.write_plan()
        plan = plan_mod.load(path)
        protect_seconds = self.protect(plan)
        state = groups.get(self.store, self.name, GROUP)
        self.assertEqual(groups.PROTECTED, state.state)
        self.assertEqual(INTERVAL, state.sync_interval)
        first_due = state.next_sync_at
        # Both at once (the group's first sync is due since protect).
        for name in ('ctl-1', 'ctl-2'):
            self.start_conductor(name)
        for proc in self.conductors.values():
            proc.wait_for('claiming jobs')
        started = time.monotonic()
        window = MINUTES * 60
        kill_after = window / 2
        killed = None  # (time, conductor name, job id)
        comparisons, left_out = [], 0
        next_scrape = started
        # Sync, kill mid-way the conductor that runs a sync, scrape.
        while time.monotonic() - started < window:
            now = time.monotonic()
            for name, proc in self.conductors.items():
                if killed is None or name != killed[1]:
                    self.assertIsNone(proc.proc.poll(), 'conductor %s '
                                      'exited:\n%s' % (name, proc.text()))
            if killed is None and now - started >= kill_after:
                killed = self.kill_during_a_sync()
            if now >= next_scrape:
                for name in sorted(self.alive()):
                    if not self.compare_metrics(plan, name, comparisons):
                        left_out += 1
                next_scrape = now + 7
            time.sleep(0.5)
        self.assertIsNotNone(killed, 'no sync ran after mid-way')
        # The syncs started in the window end; then the survivor stops
        # (a sync it starts meanwhile is not counted).
        ended = time.monotonic()
        ids = {j.id for j in self.sync_jobs()}
        [survivor] = self.alive().values()
        self.stop_between_syncs(survivor, ids)
        self.check_syncs(first_due, killed, started, ended, ids,
                         comparisons, left_out, protect_seconds)

    def stop_between_syncs(self, survivor, ids):
        """Stop ``survivor`` once the syncs ``ids`` ended, between two.

        (Stopped during a sync, it would hand it over, half done.)
        """
        deadline = time.monotonic() + INTERVAL * 4
        while True:
            self.assertLess(time.monotonic(), deadline, self.sync_jobs())
            syncs = self.sync_jobs()
            due = groups.get(self.store, self.name, GROUP).next_sync_at
            if not any(j.state in (jobs.PENDING, jobs.RUNNING)
                       for j in syncs) and \
                    {j.id for j in syncs} >= ids and \
                    (due - checkpoints.utcnow()).total_seconds() > 3:
                break
            time.sleep(0.2)
        survivor.stop()

    def kill_during_a_sync(self):
        """SIGKILL the conductor running a sync, in its backup step."""
        deadline = time.monotonic() + INTERVAL * 2 + 60
        seen = {j.id for j in self.sync_jobs()}
        while time.monotonic() < deadline:
            for job in self.sync_jobs():
                if job.id in seen:
                    continue
                step = (r'job %s: %s/fw \S+\.backup\.(retry|ready) RUNNING'
                        % (job.id, GROUP))
                for name, proc in self.conductors.items():
                    if proc.find(step):
                        return (proc.kill(), name, job.id)
            time.sleep(0.05)
        self.fail('no new sync reached its backup step: %s' % [
            (j.id, j.state) for j in self.sync_jobs()])

    def check_syncs(self, first_due, killed, started, ended, ids,
                    comparisons, left_out, protect_seconds):
        killed_at, killed_name, killed_job = killed
        [survivor] = [n for n in self.conductors if n != killed_name]
        syncs = [j for j in self.sync_jobs() if j.id in ids]
        self.addDetail('syncs', protection._text(json.dumps([
            (j.id, j.state, j.owner, j.attempts,
             checkpoints.isoformat(j.created_at),
             checkpoints.isoformat(j.started_at),
             checkpoints.isoformat(j.finished_at)) for j in sorted(
                 syncs, key=lambda j: j.created_at)], indent=1)))
        self.addDetail('killed', protection._text(json.dumps(killed)))
        # Each sync is the one of its slot: due at first_due + k intervals.
        slot_of = {}
        for k in range(int(MINUTES * 60 / INTERVAL) + 10):
            due = first_due + datetime.timedelta(seconds=k * INTERVAL)
            slot_of[schedule.sync_job_id(self.name, GROUP, due)] = k
        by_slot = {}
        for job in syncs:
            self.assertIn(job.id, slot_of, job)
            by_slot[slot_of[job.id]] = job
        slots = sorted(by_slot)
        # One per interval.  A slot goes without a sync only when the sync
        # before it ran until the next one was due too (then one sync runs,
        # the later slot's: no burst); the schedulers see it end within a
        # look at the store.
        self.dropped = []
        for k in range(slots[0], slots[-1] + 1):
            if k in by_slot:
                continue
            previous = by_slot[max(j for j in slots if j < k)]
            next_due = first_due + datetime.timedelta(
                seconds=(k + 1) * INTERVAL)
            self.assertGreaterEqual(
                unix(previous.finished_at) + POLL + 1, unix(next_due),
                'slot %d has no sync, and the one before ended before the '
                'next was due: %s' % (k, slots))
            self.dropped.append(k)
        self.assertLessEqual(len(self.dropped), 1, slots)
        expected = (ended - started) / INTERVAL
        self.assertGreaterEqual(len(slots), int(expected) - 1, slots)
        self.assertLessEqual(len(slots), int(expected) + 2, slots)
        for k, job in by_slot.items():
            self.assertEqual(jobs.SUCCESS, job.state, job)
            cp = checkpoints.get(self.store, checkpoints.checkpoint_id(
                job.id), with_vnfs=True)
            self.assertEqual(job.id, cp.job_id)
            self.assertIn(cp.state, (checkpoints.COMPLETE,
                                     checkpoints.EXPIRED,
                                     checkpoints.PRUNED))
            self.assertEqual(set(VNFS), set(cp.vnfs))
            self.assertIsNotNone(cp.consistent_at)
        # Every sync started by exactly one scheduler.
        for job in syncs:
            starters = [n for n, p in self.conductors.items()
                        if p.find(r'sync of group %s \(plan \S+\) due at '
                                  r'\S+: job %s' % (GROUP, job.id))]
            self.assertEqual(1, len(starters), (job.id, starters))
        # The killed conductor's sync was finished by the other one.
        job = self.store.get_job(killed_job)
        self.assertEqual(jobs.SUCCESS, job.state)
        self.assertEqual(2, job.attempts)
        self.assertEqual(survivor, job.owner)
        resumed = self.conductors[survivor].find('resume job %s'
                                                 % killed_job)
        self.assertIsNotNone(resumed)
        # Never two syncs running at once.
        runs = self.executions(killed, ids)
        busy_until = None
        for run_start, run_end, _name, _job in runs:
            if busy_until is not None:
                self.assertLessEqual(busy_until, run_start, ('overlap', runs))
            busy_until = max(busy_until or run_end, run_end)
        self.assertEqual(len(syncs) + 1, len(runs), runs)
        # Syncs go on at the same pace after the kill.
        after_kill = [k for k in slots
                      if unix(by_slot[k].created_at) > unix(
                          by_slot[slot_of[killed_job]].created_at)]
        self.assertGreaterEqual(len(after_kill),
                                int((ended - killed_at) / INTERVAL) - 1)
        self.assertGreater(len(comparisons), 0)
        self.assertLessEqual(left_out, len(comparisons))
        self.record_figures(by_slot, slots, killed, runs, comparisons,
                            left_out, protect_seconds)

    def record_figures(self, by_slot, slots, killed, runs, comparisons,
                       left_out, protect_seconds):
        killed_at, killed_name, killed_job = killed
        starts = [unix(by_slot[k].started_at) for k in slots]
        intervals = [b - a for a, b in zip(starts, starts[1:])]
        durations = [by_slot[k].duration for k in slots
                     if by_slot[k].id != killed_job]
        done = sorted(unix(checkpoints.get(
            self.store, checkpoints.checkpoint_id(by_slot[k].id),
            with_vnfs=False).completed_at) for k in slots)
        completions = [b - a for a, b in zip(done, done[1:])]
        resumed = [s for s, _e, n, j in runs
                   if j == killed_job and n != killed_name]
        killed_index = [by_slot[k].id for k in slots].index(killed_job)
        figures = {
            'interval': INTERVAL, 'minutes': MINUTES,
            'claim_expiry': EXPIRY, 'syncs': len(slots),
            'protect_s': round(protect_seconds, 1),
            'deploy_s': round(self.deploy_seconds, 1),
            'start_intervals_s': spread(intervals),
            'checkpoint_intervals_s': spread(completions),
            'sync_durations_s': spread(durations),
            'killed_sync_s': round(by_slot[slots[killed_index]].duration, 2),
            'kill_to_resume_s': round(resumed[0] - killed_at, 2),
            'start_interval_around_kill_s': [
                round(i, 2) for i in intervals[max(0, killed_index - 1):
                                               killed_index + 1]],
            'slots_without_sync': self.dropped,
            'metric_comparisons': len(comparisons),
            'metric_samples_left_out': left_out,
            'states_seen': sorted({c['state'] for c in comparisons}),
        }
        self.record(**figures)
        self.addDetail('intervals', protection._text(json.dumps(
            [round(i, 2) for i in intervals])))
