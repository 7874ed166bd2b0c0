"""Reading jobs without a runner (geoflows.queries)."""

import os
import sqlite3
import types

from geoflows import exceptions
from geoflows import jobs
from geoflows import locks
from geoflows import queries
from geoflows import store as store_mod
from geoflows.store import tables
from tests.unit import base
from tests.unit.store import test_store


def config(state_dir, connection=None):
    """The two options geoflows.queries.from_config reads."""
    return types.SimpleNamespace(
        state_dir=state_dir,
        state=types.SimpleNamespace(connection=connection))


class TestSQLiteRecords(test_store.StoreTestCase):
    """SQLiteRecords answers exactly as the state store does."""

    def records(self):
        records = queries.SQLiteRecords.open(self.path)
        self.addCleanup(records.close)
        return records

    def answer(self, method, *args):
        """What ``method`` answers on both, or the error it raises."""
        answers = []
        for reader in (self.store, self.records()):
            try:
                answers.append(getattr(reader, method)(*args))
            except exceptions.GeoflowsError as e:
                answers.append((type(e), str(e)))
        return answers

    def assertSameAnswer(self, method, *args):
        by_store, by_records = self.answer(method, *args)
        self.assertEqual(by_store, by_records)
        return by_records

    def test_jobs_with_every_field(self):
        for minute, job_id in enumerate(('job-a', 'job-b', 'job-c')):
            with test_store.at(test_store.minutes(minute)):
                self.create_job(job_id)
        self.store.update_job('job-b', state=jobs.RUNNING, owner='ctl-1',
                              started_at=test_store.minutes(5),
                              attempts=2, abort_requested='keep')
        self.store.update_job(
            'job-c', state=jobs.FAILED, error='it broke',
            finished_at=test_store.minutes(6).replace(microsecond=1234),
            result={'units': {'vpn': {'status': 'ok'}}})

        listed = self.assertSameAnswer('list_jobs')
        self.assertEqual(['job-c', 'job-b', 'job-a'], [j.id for j in listed])
        self.assertEqual(1234, listed[0].finished_at.microsecond)
        self.assertSameAnswer('list_jobs', [jobs.RUNNING, jobs.FAILED])
        self.assertSameAnswer('list_jobs', [jobs.SUCCESS])
        self.assertSameAnswer('list_jobs', None, 2)
        self.assertSameAnswer('list_jobs', [jobs.PENDING], 1)
        for job_id in ('job-a', 'job-b', 'job-c'):
            self.assertSameAnswer('get_job', job_id)

    def test_an_empty_store(self):
        self.assertEqual([], self.assertSameAnswer('list_jobs'))
        self.assertEqual([], self.assertSameAnswer('job_steps', 'job-1'))

    def test_ids_and_prefixes(self):
        for job_id in ('abcd0001-x', 'abcd0002-x', 'ab%d_003-x', 'abXd0004-x',
                       'a/b/0005-x'):
            self.create_job(job_id)

        for asked, found in (('abcd0001', 'abcd0001-x'),
                             ('ABCD0002', 'abcd0002-x'),  # as SQL LIKE
                             ('ab%d', 'ab%d_003-x'), ('ab%d_', 'ab%d_003-x'),
                             ('a/b/', 'a/b/0005-x'), ('abXd0004-x', None)):
            job = self.assertSameAnswer('get_job', asked)
            self.assertEqual(found or asked, job.id)
        for asked in ('abcd', 'abc', 'ab_d', 'nope', 'ab', ''):
            by_store, by_records = self.answer('get_job', asked)
            self.assertIsInstance(by_records, tuple)
            self.assertEqual(by_store, by_records)
        self.assertIn('ambiguous', self.answer('get_job', 'abcd')[1][1])

    def test_schema_version_is_the_stores(self):
        self.assertEqual(tables.SCHEMA_VERSION, queries.SCHEMA_VERSION)

    def test_job_fields_are_the_tables(self):
        self.assertEqual(
            {c.name for c in tables.jobs.columns},
            set(queries.JOB_FIELDS) | {'id', 'spec', 'result'})


class TestSteps(base.CloudTestCase):

    def test_steps_are_the_stores(self):
        job = self.runner.start('interconnect.setup', base.make_plan())
        records = queries.SQLiteRecords.open(self.store.engine.url.database)
        self.addCleanup(records.close)

        steps = records.job_steps(job.id)

        self.assertEqual(self.store.job_steps(job.id), steps)
        self.assertIn(('vpn', 'local.bgpvpn'),
                      [(step['unit'], step['name']) for step in steps])
        self.assertTrue(all(step['finished_at'] for step in steps
                            if step['state'] == 'SUCCESS'))

    def test_steps_of_some_names_without_their_data(self):
        job = self.runner.start('interconnect.setup', base.make_plan())
        every = self.store.job_steps(job.id)

        some = self.store.job_steps(job.id, names=['local.bgpvpn'],
                                    data=False)

        self.assertEqual(
            [{k: v for k, v in step.items() if k != 'data'}
             for step in every if step['name'] == 'local.bgpvpn'], some)
        self.assertEqual(1, len(some))


class TestOpen(base.TestCase):

    def test_no_file(self):
        path = os.path.join(self.tmp, 'geoflows.sqlite')
        self.assertIsNone(queries.SQLiteRecords.open(path))
        self.assertFalse(os.path.exists(path))

    def test_a_file_without_the_tables(self):
        path = os.path.join(self.tmp, 'geoflows.sqlite')
        sqlite3.connect(path).close()
        self.assertIsNone(queries.SQLiteRecords.open(path))

    def test_another_schema_version(self):
        path = os.path.join(self.tmp, 'geoflows.sqlite')
        store = store_mod.StateStore('sqlite:///%s' % path)
        store.upgrade()
        store.close()
        conn = sqlite3.connect(path)
        conn.execute('UPDATE gf_schema SET version = 2')
        conn.commit()
        conn.close()
        self.assertIsNone(queries.SQLiteRecords.open(path))


class TestSqlitePath(base.TestCase):

    def test_plain_urls(self):
        self.assertEqual('/var/lib/gf.sqlite',
                         queries.sqlite_path('sqlite:////var/lib/gf.sqlite'))
        self.assertEqual('gf.sqlite',
                         queries.sqlite_path('sqlite+pysqlite:///gf.sqlite'))

    def test_urls_left_to_sqlalchemy(self):
        for url in ('sqlite:///gf.sqlite?timeout=5', 'sqlite:///g%20f.sqlite',
                    'sqlite://', 'sqlite:///:memory:', 'sqlite+aiosqlite:///x',
                    'postgresql+psycopg2://geoflows@db/geoflows'):
            self.assertIsNone(queries.sqlite_path(url), url)

    def test_default_path_is_the_stores(self):
        self.assertEqual(store_mod.default_url('~/state'),
                         'sqlite:///%s' % queries.default_path('~/state'))


class TestJobQueries(base.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.job = self.runner.start('interconnect.setup', base.make_plan(),
                                     ['vpn'])
        self.queries, records = queries.from_config(
            config(self.tmp, 'sqlite:///%s' % self.store.engine.url.database))
        self.addCleanup(records.close)

    def test_reads_without_sqlalchemy(self):
        self.assertIsInstance(self.queries.records, queries.SQLiteRecords)

    def test_the_runner_agrees(self):
        self.assertEqual(self.runner.list(), self.queries.list())
        self.assertEqual(self.runner.get(self.job.id[:8]),
                         self.queries.get(self.job.id[:8]))
        self.assertEqual(self.runner.steps(self.job.id),
                         self.queries.steps(self.job.id))

    def test_steps_leave_out_injected_values(self):
        _job, steps = self.queries.steps(self.job.id)
        names = [step['name'] for step in steps]
        self.assertNotIn('job_id', names)
        self.assertFalse([n for n in names if n.startswith('_TaskFlow')])
        started = [step['started_at'] for step in steps]
        self.assertEqual(sorted(started), started)

    def test_a_running_job_without_its_process_is_stale(self):
        self.store.update_job(self.job.id, state=jobs.RUNNING)

        job = self.queries.get(self.job.id)

        self.assertTrue(job.stale)
        self.assertEqual('RUNNING (stale)', job.display_state)
        self.assertEqual([True], [j.stale for j in self.queries.list()])

    def test_a_running_job_whose_process_holds_its_lock_is_live(self):
        self.store.update_job(self.job.id, state=jobs.RUNNING)
        # flock: another open file of the same lock conflicts, as another
        # process's would.
        held = locks.FileLocks(self.runner.locks.directory).try_acquire(
            'job:%s' % self.job.id)
        self.addCleanup(held.release)

        self.assertFalse(self.queries.get(self.job.id).stale)
        self.assertEqual([False], [j.stale for j in self.queries.list()])

    def test_the_locks_are_the_runners(self):
        self.assertEqual(self.runner.locks.directory,
                         self.queries.locks.directory)


class TestFromConfig(base.TestCase):

    def test_default_store(self):
        state_dir = os.path.join(self.tmp, 'state')
        store = store_mod.StateStore(store_mod.default_url(state_dir))
        store.upgrade()
        store.close()

        found, records = queries.from_config(config(state_dir))
        self.addCleanup(records.close)

        self.assertIsInstance(records, queries.SQLiteRecords)
        self.assertEqual(queries.default_path(state_dir), records.path)
        self.assertEqual(locks.sqlite_locks_dir(records.path),
                         found.locks.directory)

    def test_a_store_that_does_not_exist_yet_is_created(self):
        state_dir = os.path.join(self.tmp, 'state')

        found, records = queries.from_config(config(state_dir))
        self.addCleanup(records.close)

        self.assertIsInstance(records, store_mod.StateStore)
        self.assertEqual([], found.list())
        self.assertTrue(os.path.exists(queries.default_path(state_dir)))

    def test_other_urls_go_through_sqlalchemy(self):
        path = os.path.join(self.tmp, 'gf.sqlite')

        found, records = queries.from_config(
            config(self.tmp, 'sqlite:///%s?timeout=5' % path))
        self.addCleanup(records.close)

        self.assertIsInstance(records, store_mod.StateStore)
        self.assertEqual([], found.list())
