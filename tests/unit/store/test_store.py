"""Tests of the state store: setup, jobs and route target allocation."""

import datetime
import os
import sqlite3
import threading
from unittest import mock
import uuid

import fixtures
import sqlalchemy as sa

from geoflows import exceptions
from geoflows import jobs
from geoflows import secrets
from geoflows import store
from geoflows.store import tables
from tests.unit import base

T0 = datetime.datetime(2024, 5, 1, 12, 0, 0)

ASN = 64512
FIRST = 100
LAST = 102


def minutes(n):
    """T0 plus ``n`` minutes."""
    return T0 + datetime.timedelta(minutes=n)


def at(when):
    """Make the state store believe it is ``when``."""
    return mock.patch('geoflows.store.utcnow', return_value=when)


class StoreTestCase(base.TestCase):
    """A test with an upgraded SQLite state store in the temp directory."""

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.tmp, 'state.sqlite')
        self.url = 'sqlite:///%s' % self.path
        self.store = self.open_store()

    def open_store(self, url=None):
        """A new, upgraded StateStore (closed at cleanup)."""
        result = store.StateStore(url or self.url)
        self.addCleanup(result.close)
        result.upgrade()
        return result

    def create_job(self, job_id, state=jobs.PENDING, plan_name='plan'):
        self.store.create_job(job_id, 'interconnect-create', plan_name,
                              'sha256:0123', {'units': [{'name': 'vpn'}]},
                              state=state)

    def count_rows(self, table):
        with self.store.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(table)).scalar()


class TestStoreSetup(StoreTestCase):

    def test_upgrade_twice_on_the_same_store_is_harmless(self):
        self.store.upgrade()

        self.assertEqual(1, self.count_rows(tables.schema_info))

    def test_upgrade_by_a_second_store_keeps_data_and_schema_row(self):
        self.create_job('job-1')

        other = self.open_store()

        self.assertEqual('job-1', other.get_job('job-1').id)
        self.assertEqual(1, self.count_rows(tables.schema_info))

    def test_schema_version_is_recorded(self):
        with self.store.engine.connect() as conn:
            version = conn.execute(
                sa.select(tables.schema_info.c.version)).scalar()

        self.assertEqual(tables.SCHEMA_VERSION, version)

    def test_sqlite_file_is_in_wal_mode(self):
        raw = sqlite3.connect(self.path)
        self.addCleanup(raw.close)

        mode = raw.execute('PRAGMA journal_mode').fetchone()[0]

        self.assertEqual('wal', mode)

    def test_missing_parent_directories_are_created(self):
        path = os.path.join(self.tmp, 'a', 'b', 'c', 'state.sqlite')

        self.open_store('sqlite:///%s' % path)

        self.assertTrue(os.path.isfile(path))

    def test_ping_succeeds_on_a_working_store(self):
        self.store.ping()

    def test_unparsable_url_is_config_error(self):
        error = self.assertRaises(exceptions.ConfigError,
                                  store.StateStore, 'not a url')

        self.assertIn('is not a SQLAlchemy URL', str(error))
        self.assertIn('[state] connection', str(error))

    def test_missing_driver_is_config_error_naming_what_to_install(self):
        error = self.assertRaises(exceptions.ConfigError,
                                  store.StateStore, 'mysql+nosuchdriver://x')

        message = str(error)
        self.assertIn('not installed', message)
        self.assertIn('nosuchdriver', message)
        self.assertIn('PyMySQL', message)
        self.assertIn('psycopg2-binary', message)

    def test_missing_driver_error_hides_the_password(self):
        error = self.assertRaises(
            exceptions.ConfigError, store.StateStore,
            'mysql+nosuchdriver://geoflows:hunter2@db/geoflows')

        self.assertNotIn('hunter2', str(error))
        self.assertIn('geoflows:***@db', str(error))

    def test_safe_url_hides_the_password(self):
        self.assertEqual(
            'postgresql://gf:***@db:5432/gf',
            store.safe_url('postgresql://gf:s3cr3t@db:5432/gf'))

    def test_safe_url_of_unparsable_url_does_not_repeat_it(self):
        self.assertEqual('<unparsable URL>', store.safe_url('user:pw@@'))

    def test_default_url_is_a_sqlite_file_in_the_expanded_state_dir(self):
        self.useFixture(fixtures.EnvironmentVariable('HOME', self.tmp))

        url = store.default_url('~/state')

        self.assertEqual('sqlite:///%s' % os.path.join(
            self.tmp, 'state', 'geoflows.sqlite'), url)

    def test_new_store_has_written_nothing(self):
        self.assertEqual(0, self.open_store().writes)


class TestJobs(StoreTestCase):

    def test_created_job_reads_back_with_its_fields(self):
        with at(T0):
            self.create_job('job-1')

        job = self.store.get_job('job-1')

        self.assertEqual(
            ('job-1', 'interconnect-create', 'plan', 'sha256:0123',
             jobs.PENDING, jobs.MODE_RUN, T0, T0, 0),
            (job.id, job.operation, job.plan_name, job.plan_digest,
             job.state, job.mode, job.created_at, job.updated_at,
             job.attempts))
        self.assertEqual({'units': [{'name': 'vpn'}]}, job.spec)
        self.assertIsNone(job.error)
        self.assertIsNone(job.result)
        self.assertIsNone(job.started_at)

    def test_update_job_changes_fields_and_updated_at(self):
        with at(T0):
            self.create_job('job-1')

        with at(minutes(5)):
            self.store.update_job('job-1', state=jobs.RUNNING, attempts=1,
                                  owner='host:42', started_at=minutes(4))

        job = self.store.get_job('job-1')
        self.assertEqual((jobs.RUNNING, 1, 'host:42', minutes(4)),
                         (job.state, job.attempts, job.owner,
                          job.started_at))
        self.assertEqual(T0, job.created_at)
        self.assertEqual(minutes(5), job.updated_at)

    def test_update_job_stores_the_result_as_data(self):
        self.create_job('job-1')

        self.store.update_job('job-1', result={'vpn': {'rt': '64512:100'}})

        self.assertEqual({'vpn': {'rt': '64512:100'}},
                         self.store.get_job('job-1').result)

    def test_update_job_masks_a_registered_secret_in_error(self):
        secret = uuid.uuid4().hex
        secrets.register(secret)
        self.create_job('job-1')

        self.store.update_job('job-1', error='peer refused key %s' % secret)

        self.assertEqual('peer refused key ***',
                         self.store.get_job('job-1').error)

    def test_list_jobs_is_newest_first(self):
        for job_id, minute in (('job-b', 2), ('job-a', 1), ('job-c', 3)):
            with at(minutes(minute)):
                self.create_job(job_id)

        listed = [job.id for job in self.store.list_jobs()]

        self.assertEqual(['job-c', 'job-b', 'job-a'], listed)

    def test_list_jobs_filters_by_state(self):
        self.create_job('job-1', state=jobs.RUNNING)
        self.create_job('job-2', state=jobs.SUCCESS)
        self.create_job('job-3', state=jobs.FAILED)

        listed = self.store.list_jobs(states=[jobs.RUNNING, jobs.FAILED])

        self.assertEqual(['job-1', 'job-3'],
                         sorted(job.id for job in listed))

    def test_list_jobs_limit_keeps_the_newest(self):
        for minute in range(4):
            with at(minutes(minute)):
                self.create_job('job-%d' % minute)

        listed = self.store.list_jobs(limit=2)

        self.assertEqual(['job-3', 'job-2'], [job.id for job in listed])

    def test_list_jobs_of_empty_store_is_empty(self):
        self.assertEqual([], self.store.list_jobs())

    def test_get_job_by_unique_prefix(self):
        self.create_job('abcd0001-0000-0000-0000-000000000000')
        self.create_job('abcd0002-0000-0000-0000-000000000000')

        job = self.store.get_job('abcd0002')

        self.assertEqual('abcd0002-0000-0000-0000-000000000000', job.id)

    def test_get_job_by_ambiguous_prefix_asks_for_more(self):
        self.create_job('abcd0001-0000-0000-0000-000000000000')
        self.create_job('abcd0002-0000-0000-0000-000000000000')

        error = self.assertRaises(exceptions.JobError,
                                  self.store.get_job, 'abcd000')

        self.assertNotIsInstance(error, exceptions.JobNotFound)
        self.assertIn('ambiguous', str(error))
        self.assertIn("'abcd000'", str(error))

    def test_prefix_shorter_than_four_characters_is_not_looked_up(self):
        self.create_job('abcd0001-0000-0000-0000-000000000000')

        self.assertRaises(exceptions.JobNotFound, self.store.get_job, 'abc')

    def test_unknown_job_is_not_found_with_a_hint(self):
        self.create_job('abcd0001-0000-0000-0000-000000000000')

        error = self.assertRaises(exceptions.JobNotFound,
                                  self.store.get_job, 'ffff0000')

        self.assertIn("'ffff0000'", str(error))
        self.assertIn('geoflows job list', str(error))

    def test_creating_a_job_counts_one_write(self):
        before = self.store.writes

        self.create_job('job-1')

        self.assertEqual(before + 1, self.store.writes)

    def test_updating_a_job_counts_one_write(self):
        self.create_job('job-1')
        before = self.store.writes

        self.store.update_job('job-1', state=jobs.RUNNING)

        self.assertEqual(before + 1, self.store.writes)

    def test_job_without_logbook_has_no_steps(self):
        self.create_job('job-1')

        self.assertEqual([], self.store.job_steps('job-1'))


class TestRouteTargets(StoreTestCase):

    def allocate(self, owner, job_id='job-1', exclude=(), asn=ASN):
        return self.store.allocate_route_target(owner, job_id, asn, FIRST,
                                                LAST, exclude=exclude)

    def test_first_allocation_takes_the_first_value(self):
        self.assertEqual(('64512:100', 'job-1'), self.allocate('plan/vpn'))

    def test_next_owner_gets_the_next_free_value(self):
        self.allocate('plan/vpn')

        self.assertEqual(('64512:101', 'job-2'),
                         self.allocate('plan/sec', 'job-2'))

    def test_same_owner_gets_its_value_and_the_original_job_back(self):
        self.allocate('plan/vpn', 'job-1')
        self.allocate('plan/sec', 'job-1')

        self.assertEqual(('64512:100', 'job-1'),
                         self.allocate('plan/vpn', 'job-2'))

    def test_repeated_allocation_by_the_same_owner_writes_nothing(self):
        self.allocate('plan/vpn')
        before = self.store.writes

        self.allocate('plan/vpn')

        self.assertEqual(before, self.store.writes)

    def test_excluded_values_are_skipped(self):
        value, _job = self.allocate('plan/vpn', exclude=(100, 101))

        self.assertEqual('64512:102', value)

    def test_owners_never_share_a_value(self):
        values = [self.allocate('plan/ic-%d' % i)[0] for i in range(3)]

        self.assertEqual(['64512:100', '64512:101', '64512:102'], values)

    def test_other_asn_has_its_own_pool(self):
        self.allocate('plan/vpn', asn=ASN)

        value, _job = self.allocate('plan/sec', asn=ASN + 1)

        self.assertEqual('64513:100', value)

    def test_exhausted_pool_is_allocation_error_with_a_hint(self):
        for i in range(3):
            self.allocate('plan/ic-%d' % i)

        error = self.assertRaises(exceptions.AllocationError,
                                  self.allocate, 'plan/one-more')

        message = str(error)
        self.assertIn('64512:100-102 is exhausted', message)
        self.assertIn('route_target_first/last', message)

    def test_excluding_every_free_value_exhausts_the_pool(self):
        self.assertRaises(exceptions.AllocationError, self.allocate,
                          'plan/vpn', exclude=(100, 101, 102))

    def test_release_frees_the_value_for_the_next_owner(self):
        self.allocate('plan/vpn')
        self.allocate('plan/sec')

        self.assertTrue(self.store.release_route_target('plan/vpn'))

        self.assertEqual('64512:100', self.allocate('plan/new')[0])

    def test_release_of_owner_without_value_returns_false(self):
        self.assertFalse(self.store.release_route_target('plan/vpn'))

    def test_release_restricted_to_another_job_keeps_the_value(self):
        self.allocate('plan/vpn', 'job-1')

        released = self.store.release_route_target('plan/vpn', 'job-2')

        self.assertFalse(released)
        self.assertEqual('64512:100',
                         self.store.route_target_of('plan/vpn'))

    def test_release_restricted_to_the_allocating_job_frees(self):
        self.allocate('plan/vpn', 'job-1')

        released = self.store.release_route_target('plan/vpn', 'job-1')

        self.assertTrue(released)
        self.assertIsNone(self.store.route_target_of('plan/vpn'))

    def test_route_target_of_gives_the_owners_value(self):
        self.allocate('plan/vpn')
        self.allocate('plan/sec')

        self.assertEqual('64512:101', self.store.route_target_of('plan/sec'))

    def test_route_target_of_unknown_owner_is_none(self):
        self.assertIsNone(self.store.route_target_of('plan/vpn'))

    def test_concurrent_owners_get_distinct_values(self):
        count = 8
        start = threading.Barrier(count)
        values, errors = [], []

        def allocate(index):
            start.wait()
            try:
                values.append(self.store.allocate_route_target(
                    'plan/ic-%d' % index, 'job-%d' % index, ASN, 1, 100)[0])
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=allocate, args=(i,))
                   for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        self.assertEqual([], errors)
        self.assertEqual(sorted('64512:%d' % v for v in range(1, 9)),
                         sorted(values))
        self.assertEqual(count, self.count_rows(tables.route_targets))


class TestStoreLocations(base.TestCase):

    def test_an_in_memory_database_is_refused(self):
        for url in ('sqlite://', 'sqlite:///:memory:'):
            error = self.assertRaises(exceptions.ConfigError,
                                      store.StateStore, url)
            self.assertIn('cannot be an in-memory SQLite database',
                          str(error))

    def test_a_directory_that_cannot_be_made_is_a_config_error(self):
        blocker = os.path.join(self.tmp, 'file')
        open(blocker, 'w').close()
        error = self.assertRaises(exceptions.ConfigError, store.StateStore,
                                  'sqlite:///%s/sub/state.sqlite' % blocker)
        self.assertIn('cannot create the directory', str(error))

    def test_an_unknown_database_type(self):
        error = self.assertRaises(exceptions.ConfigError, store.StateStore,
                                  'nosuchdb://host/x')
        self.assertIn("unknown database type 'nosuchdb'", str(error))

    def test_an_underscore_in_a_prefix_is_not_a_wildcard(self):
        st = store.StateStore('sqlite:///%s/s.sqlite' % self.tmp)
        self.addCleanup(st.close)
        st.upgrade()
        st.create_job('abcde-1', 'op', 'plan', 'd', {'units': []},
                      state='PENDING')
        self.assertRaises(exceptions.JobNotFound, st.get_job, 'abc_')
        self.assertEqual('abcde-1', st.get_job('abcd').id)


class _DeadlockError(Exception):
    pass


class TestWriteRetries(base.TestCase):

    def setUp(self):
        super().setUp()
        self.store = store.StateStore('sqlite:///%s/s.sqlite' % self.tmp)
        self.addCleanup(self.store.close)
        self.store.upgrade()
        self.useFixture(fixtures.MockPatch('time.sleep'))

    def deadlock(self):
        orig = _DeadlockError(1213, 'Deadlock found when trying to get lock')
        return sa.exc.OperationalError('UPDATE ...', {}, orig)

    def test_a_deadlocked_transaction_is_run_again(self):
        calls = []

        def write(conn):
            calls.append(1)
            if len(calls) < 3:
                raise self.deadlock()
            return 'done'
        self.assertEqual('done', self.store.write(write))
        self.assertEqual(3, len(calls))

    def test_retries_are_bounded(self):
        def write(conn):
            raise self.deadlock()
        self.assertRaises(sa.exc.OperationalError, self.store.write, write)

    def test_other_errors_are_not_retried(self):
        calls = []

        def write(conn):
            calls.append(1)
            raise sa.exc.OperationalError('x', {}, _DeadlockError(
                1146, "Table 'x' doesn't exist"))
        self.assertRaises(sa.exc.OperationalError, self.store.write, write)
        self.assertEqual(1, len(calls))
