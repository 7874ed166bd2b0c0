"""Tests of the named locks: flock files, and PostgreSQL advisory locks."""

import os
import subprocess
import sys
import threading
import uuid

import sqlalchemy as sa
from taskflow import engines
from taskflow.patterns import linear_flow
from taskflow.persistence import models
from taskflow import states
from taskflow import task

from geoflows import exceptions
from geoflows import jobs
from geoflows import locks
from geoflows import secrets
from geoflows import store
from geoflows.store import tables
from tests.unit import base
from tests.unit import databases

TRY_LOCK = '''
import sys
from geoflows import locks
lock = locks.FileLocks(sys.argv[1]).try_acquire(sys.argv[2])
print('busy' if lock is None else 'acquired')
'''


class TestFileLocks(base.TestCase):

    def setUp(self):
        super().setUp()
        self.directory = os.path.join(self.tmp, 'locks')
        self.locks = locks.FileLocks(self.directory)

    def acquire(self, name='job:1'):
        lock = self.locks.try_acquire(name)
        if lock is not None:
            self.addCleanup(lock.release)
        return lock

    def test_acquire_returns_a_lock_with_its_name(self):
        lock = self.acquire('interconnect:plan/vpn')

        self.assertEqual('interconnect:plan/vpn', lock.name)

    def test_lock_directory_is_created(self):
        self.acquire()

        self.assertTrue(os.path.isdir(self.directory))

    def test_lock_file_names_the_lock(self):
        self.acquire('interconnect:plan/vpn')

        (filename,) = os.listdir(self.directory)
        with open(os.path.join(self.directory, filename)) as f:
            self.assertEqual('interconnect:plan/vpn', f.read())

    def test_held_lock_cannot_be_acquired_again(self):
        self.acquire()

        self.assertIsNone(self.locks.try_acquire('job:1'))

    def test_held_lock_cannot_be_acquired_by_another_locks_object(self):
        self.acquire()

        self.assertIsNone(
            locks.FileLocks(self.directory).try_acquire('job:1'))

    def test_released_lock_can_be_acquired_again(self):
        self.acquire().release()

        self.assertIsNotNone(self.acquire())

    def test_release_twice_is_harmless(self):
        lock = self.acquire()
        lock.release()

        lock.release()

        self.assertIsNotNone(self.acquire())

    def test_context_manager_releases_the_lock(self):
        with self.acquire() as lock:
            self.assertEqual('job:1', lock.name)
            self.assertIsNone(self.locks.try_acquire('job:1'))

        self.assertIsNotNone(self.acquire())

    def test_different_names_are_independent(self):
        self.acquire('interconnect:plan/vpn')

        self.assertIsNotNone(self.acquire('interconnect:plan/sec'))

    def test_held_lock_is_busy_for_another_process(self):
        self.acquire()

        output = subprocess.run(
            [sys.executable, '-c', TRY_LOCK, self.directory, 'job:1'],
            check=True, capture_output=True, text=True).stdout

        self.assertEqual('busy', output.strip())

    def test_released_lock_is_free_for_another_process(self):
        self.acquire().release()

        output = subprocess.run(
            [sys.executable, '-c', TRY_LOCK, self.directory, 'job:1'],
            check=True, capture_output=True, text=True).stdout

        self.assertEqual('acquired', output.strip())


class TestForStore(base.TestCase):

    def test_sqlite_store_uses_file_locks_next_to_the_database(self):
        path = os.path.join(self.tmp, 'state', 'geoflows.sqlite')
        state = store.StateStore('sqlite:///%s' % path)
        self.addCleanup(state.close)

        service = locks.for_store(state)

        self.assertIsInstance(service, locks.FileLocks)
        self.assertEqual(os.path.join(self.tmp, 'state', 'locks'),
                         service.directory)

    def test_keys_fit_a_signed_64_bit_integer(self):
        keys = {locks._key('interconnect:plan/ic-%d' % i)
                for i in range(200)}

        self.assertEqual(200, len(keys))
        self.assertTrue(all(-2 ** 63 <= key < 2 ** 63 for key in keys))
        self.assertTrue(any(key < 0 for key in keys))


def allocate_concurrently(state_store, count):
    """Route targets allocated by ``count`` threads at once."""
    values = []

    def allocate(index):
        values.append(state_store.allocate_route_target(
            'plan/ic-%d' % index, 'job-%d' % index, 64512, 1, 100)[0])

    threads = [threading.Thread(target=allocate, args=(i,))
               for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return values


class Noop(task.Task):

    def execute(self):
        return {'done': True}


class TestPostgreSQL(base.TestCase):
    """The state store and its locks on the machine's PostgreSQL.

    Each test gets a database of its own, dropped afterwards.
    """

    def setUp(self):
        super().setUp()
        self.url = databases.use(self, databases.PostgreSQLDatabase)
        self.store = self.open_store()
        self.locks = locks.for_store(self.store)

    def open_store(self):
        """A new, upgraded StateStore on the test database."""
        result = store.StateStore(self.url)
        self.addCleanup(result.close)
        result.upgrade()
        return result

    def acquire(self, name, service=None):
        lock = (service or self.locks).try_acquire(name)
        if lock is not None:
            self.addCleanup(lock.release)
        return lock

    def test_upgrade_by_a_second_store_is_harmless(self):
        self.store.create_job('job-1', 'interconnect-create', 'plan', 'd',
                              {'units': []}, state=jobs.PENDING)

        other = self.open_store()

        self.assertEqual('job-1', other.get_job('job-1').id)
        with other.engine.connect() as conn:
            rows = conn.execute(sa.select(tables.schema_info)).fetchall()
        self.assertEqual(1, len(rows))

    def test_job_round_trip(self):
        job_id = str(uuid.uuid4())
        secret = uuid.uuid4().hex
        secrets.register(secret)
        self.store.create_job(job_id, 'interconnect-create', 'plan', 'd',
                              {'units': [{'name': 'vpn'}]},
                              state=jobs.PENDING)

        self.store.update_job(job_id, state=jobs.FAILED,
                              error='refused %s' % secret)

        job = self.store.get_job(job_id[:8])
        self.assertEqual((job_id, jobs.FAILED, 'refused ***'),
                         (job.id, job.state, job.error))
        self.assertEqual([job_id], [j.id for j in self.store.list_jobs(
            states=[jobs.FAILED])])
        self.assertRaises(exceptions.JobNotFound, self.store.get_job,
                          str(uuid.uuid4()))

    def test_route_target_round_trip(self):
        def allocate(owner, job_id='job-1'):
            return self.store.allocate_route_target(owner, job_id, 64512,
                                                    100, 101)

        self.assertEqual(('64512:100', 'job-1'), allocate('plan/vpn'))
        self.assertEqual(('64512:101', 'job-2'), allocate('plan/sec',
                                                          'job-2'))
        self.assertEqual(('64512:100', 'job-1'), allocate('plan/vpn',
                                                          'job-3'))
        self.assertRaises(exceptions.AllocationError, allocate, 'plan/x')
        self.assertFalse(self.store.release_route_target('plan/vpn',
                                                         'job-3'))
        self.assertTrue(self.store.release_route_target('plan/vpn'))
        self.assertEqual(('64512:100', 'job-4'), allocate('plan/x',
                                                          'job-4'))

    def test_taskflow_flow_runs_on_postgresql(self):
        backend = self.store.taskflow_backend()
        book = models.LogBook('interconnect-create')
        fd = models.FlowDetail('unit-1', str(uuid.uuid4()))
        book.add(fd)
        backend.get_connection().save_logbook(book)

        engines.load(linear_flow.Flow('unit-1').add(Noop('first'),
                                                    Noop('second')),
                     flow_detail=fd, book=book, backend=backend).run()

        steps = self.open_store().job_steps(book.uuid)
        self.assertEqual([('first', states.SUCCESS),
                          ('second', states.SUCCESS)],
                         sorted((s['name'], s['state']) for s in steps))

    def test_for_store_gives_database_locks(self):
        self.assertIsInstance(self.locks, locks.DatabaseLocks)

    def test_held_lock_cannot_be_acquired_again(self):
        self.acquire('job:1')

        self.assertIsNone(self.locks.try_acquire('job:1'))

    def test_held_lock_is_busy_for_another_store(self):
        self.acquire('job:1')
        other = locks.for_store(self.open_store())

        self.assertIsNone(other.try_acquire('job:1'))

    def test_released_lock_can_be_acquired_again(self):
        self.acquire('job:1').release()

        self.assertIsNotNone(self.acquire('job:1'))

    def test_context_manager_releases_the_lock(self):
        with self.acquire('job:1'):
            self.assertIsNone(self.locks.try_acquire('job:1'))

        self.assertIsNotNone(self.acquire('job:1'))

    def test_different_names_are_independent(self):
        self.acquire('interconnect:plan/vpn')

        self.assertIsNotNone(self.acquire('interconnect:plan/sec'))

    def test_sixteen_concurrent_allocators_get_distinct_values(self):
        values = allocate_concurrently(self.store, 16)

        self.assertEqual(16, len(values))
        self.assertEqual(16, len(set(values)))


class TestMySQL(base.TestCase):
    """The state store, its locks and a job on the machine's MySQL."""

    def setUp(self):
        super().setUp()
        self.store = store.StateStore(
            databases.use(self, databases.MySQLDatabase))
        self.addCleanup(self.store.close)
        self.store.upgrade()

    def test_locks_are_database_locks(self):
        service = locks.for_store(self.store)
        self.assertIsInstance(service, locks.DatabaseLocks)
        lock = service.try_acquire('job:1')
        self.assertIsNotNone(lock)
        other = locks.for_store(store.StateStore(self.store.url))
        self.assertIsNone(other.try_acquire('job:1'))
        lock.release()
        again = other.try_acquire('job:1')
        self.assertIsNotNone(again)
        again.release()

    def test_concurrent_allocations_get_distinct_values(self):
        self.assertEqual(16, len(set(allocate_concurrently(self.store, 16))))

    def test_a_job_runs_resumes_and_reverts_on_mysql(self):
        from geoflows import context
        from geoflows import runner
        from geoflows.testing import fakecloud

        clouds = fakecloud.FakeClouds()
        resolver = secrets.SecretResolver(os.path.join(self.tmp, 'key'))
        previous = context.install(None)
        self.addCleanup(context.install, previous)
        jobs_runner = runner.Runner(self.store, clouds, resolver,
                                    base.OPTIONS)
        self.addCleanup(jobs_runner.close)
        plan = base.make_plan()
        lyon = clouds.site('telco', 'lyon')
        lyon.fail('create_vpn_ipsec_site_connection')
        job = jobs_runner.start('interconnect.setup', plan, ['sec', 'vpn'],
                                keep_on_failure=True)
        self.assertEqual(jobs.FAILED, job.state)
        # Only because of the fault: concurrent step writes must not
        # deadlock each other (InnoDB gap locks).
        self.assertIn('Internal Server Error (injected)', job.error)
        self.assertNotIn('Deadlock', job.error)
        self.assertNotIn('vpn:', job.error)
        self.assertEqual(jobs.SUCCESS, jobs_runner.resume(job.id).state)
        self.assertEqual(jobs.REVERTED, jobs_runner.revert(job.id).state)
        self.assertEqual(['network', 'segment', 'subnet'],
                         sorted(lyon.inventory()))
