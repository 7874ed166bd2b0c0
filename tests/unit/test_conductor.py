"""Conductors in threads of the test, on each of the three jobboards.

Redis is the machine's; ZooKeeper and etcd servers are started by the
tests (tests.unit.jobboards), which skip when the server is not installed.
The jobs run on the in-memory fake cloud; a SQLite state store is shared by
the conductors (the functional tests run real conductor processes on
PostgreSQL and real sites).
"""

import json
import os
import subprocess
import sys
import threading
import time

import sqlalchemy as sa
from taskflow import states as tf_states

from geoflows import bench
from geoflows import conductor as conductor_mod
from geoflows import jobboard
from geoflows import jobs
from geoflows import runner as runner_mod
from geoflows.store import tables
from geoflows.testing import fakecloud
from tests.unit import base
from tests.unit import jobboards

EXPIRY = 3
# Run by claim_and_die(): claim the first posting as a conductor would.
CLAIM_AND_WAIT = """
import json, sys, time, types
from geoflows import jobboard
group = types.SimpleNamespace(**json.loads(sys.argv[1]))
board = jobboard.fetch(group, sys.argv[2])
jobboard.connect(board, group)
posting = list(board.iterjobs(ensure_fresh=True))[0]
if group.backend in jobboard.EXPIRING_CLAIMS:
    board.claim(posting, sys.argv[2], expiry=group.claim_expiry)
else:  # ZooKeeper: the claim lasts as long as this client's session
    board.claim(posting, sys.argv[2])
print('claimed', flush=True)
time.sleep(600)
"""
PLAN = {'name': 'synthetic', 'digest': 'd', 'source': 'test',
        'document': {}}


def wait_for(predicate, timeout=30, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError('timed out waiting for %s' % what)


class ConductorTestCase(base.CloudTestCase):

    BOARD = 'redis'

    def setUp(self):
        super().setUp()
        self.board_fixture = jobboards.use(self, self.BOARD)
        self.group = self.board_fixture.group(claim_expiry=EXPIRY)
        self.clouds = fakecloud.FakeClouds(latency=0.01)
        self.url = 'sqlite:///%s' % os.path.join(self.tmp, 'state.sqlite')
        self.board = self.connected_board('test')
        self.dispatched = []  # (conductor name, job id) per dispatch

    def connected_board(self, name):
        board = jobboard.fetch(self.group, name)
        jobboard.connect(board, self.group)
        self.addCleanup(board.close)
        return board

    def make_runner(self, owner):
        runner = runner_mod.Runner(
            self.store, self.clouds, self.resolver, {},
            abort_poll_interval=0.1, owner=owner)
        self.addCleanup(runner.close)
        return runner

    def start_conductor(self, name, runner=None, **kwargs):
        runner = runner or self.make_runner(name)
        kwargs.setdefault('max_attempts', 3)
        kwargs.setdefault('max_jobs', 2)
        cond = conductor_mod.Conductor(
            name, jobboard.fetch(self.group, name, runner.backend), runner,
            claim_expiry=EXPIRY, poll_interval=0.05,
            expiring_claims=self.BOARD in jobboard.EXPIRING_CLAIMS, **kwargs)
        cond.connect()

        def on_start(event, details):
            posting = details['job']
            self.dispatched.append(
                (name, jobboard.posting_of(posting)['job_id']))

        cond.notifier.register('running_start', on_start)
        thread = threading.Thread(target=cond.run, daemon=True)
        thread.start()

        def stop():
            cond.stop(handover=False)
            thread.join(30)
            cond.close()
        self.addCleanup(stop)
        return cond

    def claim_and_die(self, who):
        """A process claims the posting on the board, and is SIGKILLed."""
        proc = subprocess.Popen(
            [sys.executable, '-c', CLAIM_AND_WAIT, json.dumps(vars(
                self.group)), who], stdout=subprocess.PIPE, text=True)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.assertEqual('claimed\n', proc.stdout.readline())
        proc.kill()
        proc.wait()

    def submit(self, n=1, k=3, runner=None, action='run'):
        runner = runner or self.runner
        job_id = runner.create_job('bench', PLAN, bench.units(n, k))
        jobboard.post(self.board, runner.get(job_id), action)
        return job_id

    def site_calls(self):
        return self.clouds.site('bench').calls['bench_call']

    def board_empty(self):
        return not list(self.board.iterjobs(ensure_fresh=True))

    def settled(self, job_id):
        job = self.runner.get(job_id)
        return job if jobs.settled(job) else None


class TestSeveralConductors(ConductorTestCase):

    def test_each_job_runs_exactly_once(self):
        ids = [self.submit(n=3, k=3) for _ in range(8)]
        self.start_conductor('c1')
        self.start_conductor('c2')
        for job_id in ids:
            job = wait_for(lambda: self.settled(job_id), what=job_id)
            self.assertEqual(jobs.SUCCESS, job.state)
            self.assertEqual(1, job.attempts)
            self.assertIn(job.owner, ('c1', 'c2'))
        wait_for(self.board_empty, what='an empty board')
        self.assertEqual(sorted(ids),
                         sorted(job_id for _name, job_id in self.dispatched))
        # Every synthetic call was made once: no step ran twice.
        calls = self.site_calls()
        self.assertEqual(8 * 3 * 3, calls)

    def test_owner_is_the_conductor(self):
        job_id = self.submit()
        self.start_conductor('ctl-7')
        job = wait_for(lambda: self.settled(job_id))
        self.assertEqual('ctl-7', job.owner)
        self.assertEqual('ctl-7', self.runner.list()[0].owner)


class TestTakeover(ConductorTestCase):

    def test_lapsed_claim_is_taken_over(self):
        job_id = self.submit()
        # A conductor claims it and dies (SIGKILL) before renewing its
        # claim; it is restarted under the same name (its claims must lapse
        # all the same: a Redis claim attempt by their owner would renew
        # them).
        self.claim_and_die('alive')
        claimed = time.monotonic()
        self.start_conductor('alive')
        job = wait_for(lambda: self.settled(job_id))
        self.assertEqual(jobs.SUCCESS, job.state)
        self.assertGreaterEqual(time.monotonic() - claimed, EXPIRY - 0.2)

    def test_a_live_claim_is_renewed(self):
        self.clouds = fakecloud.FakeClouds(latency=0.5)
        # Three sequential calls of 0.5 s per unit, 4 units one at a time:
        # the job outlives two claim expiries.
        runner = runner_mod.Runner(self.store, self.clouds, self.resolver,
                                   {}, max_parallel_units=1, owner='c1')
        self.addCleanup(runner.close)
        job_id = self.submit(n=4, k=3)
        self.start_conductor('c1', runner=runner)
        # c2 starts once c1 holds the job (on a busy machine c2 could
        # otherwise claim it first).
        wait_for(lambda: self.runner.get(job_id).state == jobs.RUNNING)
        self.start_conductor('c2')
        job = wait_for(lambda: self.settled(job_id))
        self.assertGreater(job.duration, 2 * EXPIRY)
        self.assertEqual(jobs.SUCCESS, job.state)
        self.assertEqual(1, job.attempts)
        self.assertEqual(['c1'], [n for n, j in self.dispatched
                                  if j == job_id])

    def test_stop_hands_running_jobs_over(self):
        self.clouds = fakecloud.FakeClouds(latency=0.2)
        job_id = self.submit(n=3, k=10)
        first = self.start_conductor('first')
        wait_for(lambda: self.runner.get(job_id).state == jobs.RUNNING)
        first.stop(handover=True)
        job = wait_for(lambda: self.runner.get(job_id).state ==
                       jobs.SUSPENDED and self.runner.get(job_id))
        self.assertIsNone(job.abort_requested)
        self.start_conductor('second')
        job = wait_for(lambda: self.settled(job_id))
        self.assertEqual(jobs.SUCCESS, job.state)
        self.assertEqual(2, job.attempts)
        self.assertEqual('second', job.owner)
        # The steps done before the handover were not made again.
        calls = self.site_calls()
        self.assertLessEqual(calls, 3 * 10 + 3)


class TestAbort(ConductorTestCase):

    def test_abort_from_another_process_reverts_and_consumes(self):
        self.clouds = fakecloud.FakeClouds(latency=0.2)
        job_id = self.submit(n=2, k=10)
        self.start_conductor('c1')
        wait_for(lambda: self.runner.get(job_id).state == jobs.RUNNING)
        # Another controller: its own runner on the shared store.
        self.make_runner('operator').abort(job_id)
        job = wait_for(lambda: self.settled(job_id))
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertEqual('aborted on request', job.error)
        wait_for(self.board_empty, what='an empty board')
        self.assertEqual(1, job.attempts)


class TestBoundedAttempts(ConductorTestCase):

    def break_logbook(self, job_id):
        """Lose the job's steps: every attempt to run it breaks."""
        flows = sa.select(tables.flows.c.uuid).where(
            tables.flows.c.book_uuid == job_id)
        with self.store.engine.begin() as conn:
            conn.execute(tables.steps.delete().where(
                tables.steps.c.flow_uuid.in_(flows)))
            conn.execute(tables.flows.delete().where(
                tables.flows.c.book_uuid == job_id))
            conn.execute(tables.logbooks.delete().where(
                tables.logbooks.c.uuid == job_id))

    def test_poison_job_fails_after_its_attempts_others_succeed(self):
        poison = self.submit()
        self.break_logbook(poison)
        good = [self.submit() for _ in range(4)]
        self.start_conductor('c1')
        self.start_conductor('c2')
        job = wait_for(lambda: self.settled(poison))
        self.assertEqual(jobs.FAILED, job.state)
        self.assertEqual(3, job.attempts)
        self.assertIn('gave up after 3 attempts', job.error)
        self.assertIn('broke', job.error)
        self.assertIn('geoflows job resume %s' % poison, job.error)
        for job_id in good:
            self.assertEqual(jobs.SUCCESS,
                             wait_for(lambda: self.settled(job_id)).state)
        wait_for(self.board_empty, what='an empty board')

    def test_failed_job_is_consumed_not_retried(self):
        job_id = self.submit()
        self.clouds.site('bench').fail('bench_call', times=1)
        self.start_conductor('c1')
        job = wait_for(lambda: self.settled(job_id))
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertEqual(1, job.attempts)
        wait_for(self.board_empty, what='an empty board')


class TestPostings(ConductorTestCase):

    def test_foreign_posting_is_trashed(self):
        self.board.post('not ours', details={'x': 1})
        job_id = self.submit()
        self.start_conductor('c1')
        self.assertEqual(jobs.SUCCESS,
                         wait_for(lambda: self.settled(job_id)).state)
        wait_for(self.board_empty, what='an empty board')
        self.assertEqual(1, self.board_fixture.trashed())

    def test_job_missing_from_the_store_stays_on_the_board(self):
        posting = self.board.post('elsewhere', details={'geoflows': {
            'job_id': 'not-in-this-store', 'action': 'run', 'attempts': 0}})
        self.start_conductor('c1')
        wait_for(lambda: len(self.dispatched) > 1, what='two dispatches')
        self.assertNotEqual(tf_states.COMPLETE, posting.state)

    def test_revert_posting_reverts_a_finished_job(self):
        job_id = self.submit()
        self.start_conductor('c1')
        self.assertEqual(jobs.SUCCESS,
                         wait_for(lambda: self.settled(job_id)).state)
        wait_for(self.board_empty, what='an empty board')
        jobboard.post(self.board, self.runner.get(job_id), 'revert')
        job = wait_for(lambda: self.runner.get(job_id).state ==
                       jobs.REVERTED and self.runner.get(job_id))
        self.assertEqual(2, job.attempts)

    def test_a_settled_job_is_not_run_again(self):
        job_id = self.submit()
        self.start_conductor('c1')
        wait_for(lambda: self.settled(job_id))
        wait_for(self.board_empty, what='an empty board')
        jobboard.post(self.board, self.runner.get(job_id), 'run')
        wait_for(self.board_empty, what='an empty board')
        self.assertEqual(1, self.runner.get(job_id).attempts)


# The same tests on a ZooKeeper and on an etcd board of their own.
for _case in (TestSeveralConductors, TestTakeover, TestAbort,
              TestBoundedAttempts, TestPostings):
    for _board, _suffix in (('zookeeper', 'ZooKeeper'), ('etcd', 'Etcd')):
        _name = _case.__name__ + _suffix
        globals()[_name] = type(_name, (_case,), {'BOARD': _board})
del _case, _board, _suffix, _name
