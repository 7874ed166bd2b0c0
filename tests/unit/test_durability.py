"""A runner killed with SIGKILL loses no step it reported as done.

The runner process (``python -m geoflows.bench``) prints a line for each
step event; an event is sent only once the step's state is committed.  The
test kills the process after M successes, at several points of the job,
then checks in the state store that every step reported done is recorded
as done, and that the job resumes to SUCCESS without running those steps
again.  On SQLite and, when it is reachable, PostgreSQL.
"""

import os

from taskflow import states

from geoflows import bench
from geoflows import jobs
from tests.unit import base
from tests.unit import databases

UNITS = 30
STEPS = 3


class DurabilityMixin(object):
    """The tests; a subclass gives ``url()``, a fresh state store's URL."""

    def start_runner(self, url):
        proc = bench.start_worker(
            {'runner': 'geoflows', 'n': UNITS, 'k': STEPS, 'latency': 0.005,
             'cap': 4, 'url': url, 'workdir': self.tmp})
        self.addCleanup(proc.kill)
        return proc

    def kill_after(self, proc, successes):
        """SIGKILL the runner after it reported ``successes`` steps done.

        Returns the job id and the (unit, step) pairs reported done.
        """
        done = []

        def enough(event):
            unit, step, state = event
            if state == states.SUCCESS:
                done.append((unit, step))
            return len(done) == successes

        job_id, _ = bench.kill_when(proc, enough)
        return job_id, done

    def check_kill_and_resume(self, successes):
        url = self.url()
        job_id, reported = self.kill_after(self.start_runner(url), successes)

        clouds, store, runner = bench.make_runner(0.0, 4, url, self.tmp)
        self.addCleanup(runner.close)
        self.addCleanup(store.close)
        steps = {(row['unit'], row['name']): row
                 for row in store.job_steps(job_id)}
        lost = [pair for pair in reported
                if steps[pair]['state'] != states.SUCCESS]
        self.assertEqual([], lost, 'steps reported done but not recorded')
        # The killed runner left its job running; nobody holds its lock.
        self.assertEqual(jobs.RUNNING, store.get_job(job_id).state)
        recorded = {pair: row['started_at'] for pair, row in steps.items()
                    if row['state'] == states.SUCCESS}

        job = runner.resume(job_id)

        self.assertEqual(jobs.SUCCESS, job.state)
        after = store.job_steps(job_id)
        self.assertEqual(UNITS * STEPS, len(after))
        self.assertEqual({states.SUCCESS}, {row['state'] for row in after})
        # Steps done before the kill kept their record: they were not run
        # again, and the site saw only the calls of the other steps.
        for row in after:
            pair = (row['unit'], row['name'])
            if pair in recorded:
                self.assertEqual(recorded[pair], row['started_at'])
        self.assertLessEqual(clouds.site('bench').calls['bench_call'],
                             UNITS * STEPS - len(recorded))
        self.assertGreaterEqual(len(recorded), successes)

    def test_killed_after_first_step(self):
        self.check_kill_and_resume(1)

    def test_killed_early(self):
        self.check_kill_and_resume(7)

    def test_killed_midway(self):
        self.check_kill_and_resume(UNITS * STEPS // 2)

    def test_killed_near_the_end(self):
        self.check_kill_and_resume(UNITS * STEPS - 2)


class TestDurabilitySQLite(DurabilityMixin, base.TestCase):

    def url(self):
        return 'sqlite:///%s' % os.path.join(self.tmp, 'state.sqlite')


class TestDurabilityPostgreSQL(DurabilityMixin, base.TestCase):

    def url(self):
        return databases.use(self, databases.PostgreSQLDatabase)
