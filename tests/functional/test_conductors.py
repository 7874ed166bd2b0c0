"""Real conductor processes sharing a jobboard and PostgreSQL.

Every test runs on each of the three jobboards: the machine's Redis (a key
prefix of its own), and a ZooKeeper and an etcd server that the test starts
on 127.0.0.1 (tests.unit.jobboards); each test has its own database on the
machine's PostgreSQL.  What depends on the board (jobs run once, a killed
conductor's claim taken over) runs on all three in CI; the poison job and
the log's secrets, which are the conductor's own, on Redis only unless
GEOFLOWS_TEST_ALL_BOARDS=1.  All of it is removed afterwards.  The jobs set up
interconnects between the minicloud's two real regions.
"""

import json
import os
import re
import sys
import time

from oslo_utils import uuidutils

from geoflows import jobboard
from geoflows import jobs
from geoflows import runner as runner_mod
from geoflows import store as store_mod
from tests.functional import base
from tests.functional import fixtures as f_fixtures
from tests.functional import poison
from tests.unit import databases
from tests.unit import jobboards

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# Short, so that a takeover is quick to test; the deployment guide says how
# to size it (GEOFLOWS_TEST_CLAIM_EXPIRY measures another value).
EXPIRY = int(os.environ.get('GEOFLOWS_TEST_CLAIM_EXPIRY', '6'))


class ConductorTestCase(base.FunctionalTestCase):

    #: the jobboard backend of the test (tests.unit.jobboards.BOARDS)
    BOARD = None

    #: run on the other boards only with GEOFLOWS_TEST_ALL_BOARDS=1
    REDIS_ONLY = False

    def setUp(self):
        super().setUp()
        if self.REDIS_ONLY and self.BOARD != 'redis' and \
                not os.environ.get('GEOFLOWS_TEST_ALL_BOARDS'):
            self.skipTest('conductor behaviour of its own, tested on Redis '
                          '(GEOFLOWS_TEST_ALL_BOARDS=1: on every board)')
        board = jobboards.BOARDS[self.BOARD]
        # Unlike the unit tests, these do not skip without the servers.
        for reason in (databases.PostgreSQLDatabase.unreachable(),
                       board.unreachable()):
            if reason:
                self.fail(reason)
        self.url = databases.use(self, databases.PostgreSQLDatabase)
        self.board = jobboards.use(self, self.BOARD)
        self.env.update(self.board.env())
        self.env.update({
            'OS_STATE__CONNECTION': self.url,
            'OS_JOBBOARD__CLAIM_EXPIRY': str(EXPIRY),
            'OS_CONDUCTOR__POLL_INTERVAL': '0.2',
        })
        self.conductors = {}

    def start_conductor(self, name, argv=None):
        argv = argv or [base.GEOFLOWS]
        proc = self.useFixture(f_fixtures.ConductorProcess(
            argv + ['conductor', '--name', name], self.env, cwd=REPO))
        proc.wait_for('claiming jobs')
        self.conductors[name] = proc
        return proc

    def submit(self, plan, *names, operation='interconnect.setup'):
        shown = self.geoflows('job', 'submit', operation, '--plan', plan,
                              *names, '-f', 'json').json
        # Posted, not run by "job submit"; a conductor watching the board
        # (ZooKeeper, etcd) may have claimed it already.
        if shown['state'] != 'PENDING':
            self.assertIn(shown['owner'], self.conductors, shown)
        return shown['id']

    def job(self, job_id):
        return self.geoflows('job', 'show', job_id, '-f', 'json').json

    def wait_settled(self, job_id, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job['state'] in ('SUCCESS', 'REVERTED', 'FAILED'):
                return job
            time.sleep(0.5)
        self.fail('job %s did not end: %s' % (job_id, job))

    def dispatches(self, job_id):
        """(conductor, line) of every start of the job by a conductor."""
        pattern = re.compile(r'conductor \S+: (run|resume|revert) job %s'
                             % job_id)
        return [(name, line) for name, proc in self.conductors.items()
                for line in proc.text().splitlines() if pattern.search(line)]

    def assert_sites_clean_after_teardown(self, plan):
        down = self.run_job('interconnect', 'teardown', '--plan', plan)
        self.assertEqual('SUCCESS', down['state'])


class SeveralJobs(object):

    def test_two_conductors_run_each_job_exactly_once(self):
        plan = self.write_plan(base.BGPVPN, base.IPSEC, base.SEGMENTS)
        initial = self.snapshots()
        self.start_conductor('ctl-1')
        self.start_conductor('ctl-2')
        ids = [self.submit(plan, name) for name in ('core', 'oam', 'cells')]
        owners = set()
        for job_id in ids:
            job = self.wait_settled(job_id)
            self.assertEqual('SUCCESS', job['state'], job)
            self.assertEqual(1, job['attempts'])
            owners.add(job['owner'])
            self.assertEqual(1, len(self.dispatches(job_id)),
                             self.dispatches(job_id))
            for step in job['steps']:
                self.assertEqual('SUCCESS', step['state'], step)
        self.assertLessEqual(owners, {'ctl-1', 'ctl-2'})
        # "job list" shows which conductor ran each job.
        listed = {j['ID']: j['Owner'] for j in self.geoflows(
            'job', 'list', '-f', 'json').json}
        for job_id in ids:
            self.assertEqual(self.job(job_id)['owner'], listed[job_id])
        for cloud in ('site-a', 'site-b'):
            self.assertEqual([], self.duplicates(cloud))
        check = self.run_job('interconnect', 'check', '--plan', plan)
        self.assertEqual('SUCCESS', check['state'])
        self.assertEqual([], check['findings'])
        # Back to the initial sites, through a conductor too.
        down = self.geoflows('interconnect', 'teardown', '--plan', plan,
                             '--submit', '--wait', '-f', 'json').json
        self.assertEqual('SUCCESS', down['state'])
        self.assertIn(down['owner'], ('ctl-1', 'ctl-2'))
        self.assertEqual(initial, self.snapshots())
        self.assertEqual(0, self.board.postings())

    def test_submit_without_board_says_what_to_fix(self):
        plan = self.write_plan(base.BGPVPN)
        self.env['OS_JOBBOARD__HOSTS'] = '127.0.0.1:1'
        result = self.geoflows('job', 'submit', 'interconnect.setup',
                               '--plan', plan, expect=1)
        self.assertIn('cannot reach the %s board' % self.BOARD,
                      result.stderr)
        self.assertIn('[jobboard] hosts', result.stderr)
        self.assertNotIn('Traceback', result.stderr)


class KilledConductor(object):

    def test_sigkill_mid_job_other_conductor_finishes_it(self):
        plan = self.write_plan(base.BGPVPN, base.IPSEC)
        initial = self.snapshots()
        self.start_conductor('ctl-1')
        self.start_conductor('ctl-2')
        job_id = self.submit(plan)
        # Kill the conductor that claimed it in the middle of the IPsec
        # side, as soon as it says so.
        step = 'job %s: oam remote.vpnservice SUCCESS' % job_id
        deadline = time.monotonic() + 120
        while not any(p.find(step) for p in self.conductors.values()):
            self.assertLess(time.monotonic(), deadline, 'never reached')
            for name, proc in self.conductors.items():
                self.assertIsNone(proc.proc.poll(), 'conductor %s exited:\n'
                                  '%s' % (name, proc.text()))
            time.sleep(0.02)
        [first] = [p for p in self.conductors.values() if p.find(step)]
        [second] = [p for p in self.conductors.values() if p is not first]
        second_name = [n for n, p in self.conductors.items()
                       if p is second][0]
        killed = first.kill()
        # Stale once PostgreSQL has ended the dead process's session (which
        # held the job's lock): a matter of milliseconds.
        deadline = time.monotonic() + 10
        while self.job(job_id)['state'] != 'RUNNING (stale)':
            self.assertLess(time.monotonic(), deadline, self.job(job_id))
            time.sleep(0.1)
        before = {s['step']: s for s in self.job(job_id)['steps']}
        when, _line = second.wait_for('resume job %s' % job_id,
                                      timeout=EXPIRY * 3 + 30)
        work, _line = second.wait_for('job %s: \\S+ \\S+ RUNNING' % job_id,
                                      after=when)
        job = self.wait_settled(job_id)
        self.assertEqual('SUCCESS', job['state'], job)
        self.assertEqual(2, job['attempts'])
        self.assertEqual(second_name, job['owner'])
        after = {s['step']: s for s in job['steps']}
        self.assertEqual(set(before), set(after))
        for name, step in before.items():
            if step['state'] == 'SUCCESS':  # not run again
                self.assertEqual(step['started_at'],
                                 after[name]['started_at'], name)
        for cloud in ('site-a', 'site-b'):
            self.assertEqual([], self.duplicates(cloud))
        check = self.run_job('interconnect', 'check', '--plan', plan)
        self.assertEqual([], check['findings'])
        takeover = {'board': self.BOARD, 'claim_expiry': EXPIRY,
                    'kill_to_claim': round(when - killed, 2),
                    'kill_to_resumed_work': round(work - killed, 2)}
        self.addDetail('takeover', _text(json.dumps(takeover)))
        self.record_measurement(**takeover)
        # Resumed work starts once the claim lapsed, not before.
        self.assertGreater(work - killed, EXPIRY * 2 / 3.0 - 0.5)
        self.assertLess(work - killed, EXPIRY + 15)
        self.assert_sites_clean_after_teardown(plan)
        self.assertEqual(initial, self.snapshots())


class PoisonJob(object):

    REDIS_ONLY = True

    def record_poison_job(self):
        """A job whose step kills the conductor that runs it."""
        store = store_mod.StateStore(self.url)
        self.addCleanup(store.close)
        job_runner = runner_mod.Runner(store, None, None, {})
        self.addCleanup(job_runner.close)
        job_id = job_runner.create_job(
            poison.POISON, {'name': 'poison', 'digest': '-', 'source': '-',
                            'document': {}}, [poison.unit()])
        group = self.board.group(claim_expiry=EXPIRY)
        with jobboard.connected(group, 'test', job_runner.backend) as board:
            jobboard.post(board, job_runner.get(job_id))
        return job_id

    def test_poison_job_fails_after_bounded_attempts(self):
        plan = self.write_plan(base.BGPVPN, base.IPSEC)
        argv = [sys.executable, '-m', 'tests.functional.poison']
        for name in ('ctl-1', 'ctl-2'):
            self.start_conductor(name, argv)
        bad = self.record_poison_job()
        good = [self.submit(plan, name) for name in ('core', 'oam')]
        # Like systemd's Restart=always: a conductor that died comes back.
        restarts = 0
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            for name, proc in list(self.conductors.items()):
                if proc.proc.poll() is not None:
                    restarts += 1
                    self.start_conductor(name, argv)
            if jobs.FAILED == self.job(bad)['state']:
                break
            time.sleep(0.5)
        job = self.job(bad)
        self.assertEqual('FAILED', job['state'], job)
        self.assertEqual(3, job['attempts'])
        self.assertEqual(3, restarts)
        self.assertIn('gave up after 3 attempts', job['error'])
        self.assertIn('stopped while running it (step poison/crash)',
                      job['error'])
        for job_id in good:
            self.assertEqual('SUCCESS', self.wait_settled(job_id)['state'])
        for cloud in ('site-a', 'site-b'):
            self.assertEqual([], self.duplicates(cloud))
        self.assertEqual(0, self.board.postings())
        self.assert_sites_clean_after_teardown(plan)


class ConductorLog(object):

    REDIS_ONLY = True

    def test_conductor_log_masks_secrets(self):
        psk = 'Cond-%s' % uuidutils.generate_uuid()
        self.env['GEOFLOWS_TEST_PSK'] = psk
        plan = self.write_plan(base.IPSEC, psk='{env: GEOFLOWS_TEST_PSK}')
        log_file = os.path.join(self.tmp, 'conductor.log')
        proc = self.start_conductor('ctl-1', [base.GEOFLOWS, '--debug',
                                              '-v', '-v', '-v',
                                              '--log-file', log_file])
        job_id = self.submit(plan)
        self.assertEqual('SUCCESS', self.wait_settled(job_id)['state'])
        proc.stop()
        with open(log_file) as f:
            logged = f.read() + proc.text()
        self.assertIn('job %s: oam local.connection SUCCESS' % job_id,
                      logged)
        self.assertNotIn(psk, logged)
        self.assertNotIn(psk, self.board.dump())
        self.assert_sites_clean_after_teardown(plan)


# Each group of tests on each board.
class TestSeveralJobsRedis(SeveralJobs, ConductorTestCase):
    BOARD = 'redis'


class TestSeveralJobsZooKeeper(SeveralJobs, ConductorTestCase):
    BOARD = 'zookeeper'


class TestSeveralJobsEtcd(SeveralJobs, ConductorTestCase):
    BOARD = 'etcd'


class TestKilledConductorRedis(KilledConductor, ConductorTestCase):
    BOARD = 'redis'


class TestKilledConductorZooKeeper(KilledConductor, ConductorTestCase):
    BOARD = 'zookeeper'


class TestKilledConductorEtcd(KilledConductor, ConductorTestCase):
    BOARD = 'etcd'


class TestPoisonJobRedis(PoisonJob, ConductorTestCase):
    BOARD = 'redis'


class TestPoisonJobZooKeeper(PoisonJob, ConductorTestCase):
    BOARD = 'zookeeper'


class TestPoisonJobEtcd(PoisonJob, ConductorTestCase):
    BOARD = 'etcd'


class TestConductorLogRedis(ConductorLog, ConductorTestCase):
    BOARD = 'redis'


class TestConductorLogZooKeeper(ConductorLog, ConductorTestCase):
    BOARD = 'zookeeper'


class TestConductorLogEtcd(ConductorLog, ConductorTestCase):
    BOARD = 'etcd'


def _text(value):
    from testtools import content
    return content.text_content(value)
