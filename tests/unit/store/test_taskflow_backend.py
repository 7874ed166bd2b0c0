"""Tests of the Taskflow persistence backend on the state store."""

import contextlib
import datetime
import json
import os
import sqlite3
from unittest import mock
import uuid

import sqlalchemy as sa
from taskflow import engines
from taskflow import exceptions as tf_exc
from taskflow.patterns import linear_flow
from taskflow.persistence import models
from taskflow import states
from taskflow import task

from geoflows import secrets
from geoflows import store
from tests.unit import base

T0 = datetime.datetime(2024, 5, 1, 12, 0, 0)


def minutes(n):
    return T0 + datetime.timedelta(minutes=n)


def at(when):
    """Make the backend believe it is ``when``."""
    return mock.patch('geoflows.store.taskflow_backend.utcnow',
                      return_value=when)


class MakeConfig(task.Task):
    default_provides = 'config'

    def execute(self):
        return {'vlan': 101, 'name': 'infra'}


class UseConfig(task.Task):

    def execute(self, config):
        return config['vlan'] + 1


class Record(task.Task):
    """Appends its name to ``calls`` when it runs and when it reverts."""

    def __init__(self, name, calls):
        super().__init__(name)
        self.calls = calls

    def execute(self):
        self.calls.append(self.name)
        return self.name

    def revert(self, *args, **kwargs):
        self.calls.append('revert ' + self.name)


class Fail(task.Task):

    def __init__(self, name, message='step failed'):
        super().__init__(name)
        self.message = message

    def execute(self):
        raise RuntimeError(self.message)


class BackendTestCase(base.TestCase):
    """A SQLite state store and its Taskflow backend."""

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.tmp, 'state.sqlite')
        self.url = 'sqlite:///%s' % self.path
        self.store = self.open_store()
        self.backend = self.store.taskflow_backend()
        self.conn = self.backend.get_connection()

    def open_store(self):
        """A new StateStore on the same file (closed at cleanup)."""
        result = store.StateStore(self.url)
        self.addCleanup(result.close)
        result.upgrade()
        return result

    def save_book(self, *units):
        """Save a logbook with one flow detail per unit name."""
        book = models.LogBook('interconnect-create')
        for unit in units or ('unit-1',):
            book.add(models.FlowDetail(unit, str(uuid.uuid4())))
        self.conn.save_logbook(book)
        return book

    def run_flow(self, *tasks, backend=None):
        """Run a linear flow of ``tasks`` on a new logbook.

        Returns the logbook; a failure of the flow is raised.
        """
        book = self.save_book()
        self.load(book, *tasks, backend=backend).run()
        return book

    def load(self, book, *tasks, backend=None):
        fd = next(iter(book))
        flow = linear_flow.Flow('unit-1').add(*tasks)
        return engines.load(flow, flow_detail=fd, book=book,
                            backend=backend or self.backend)

    def steps(self, book, store_=None):
        """The step rows of ``book`` by step name."""
        return {row['name']: row
                for row in (store_ or self.store).job_steps(book.uuid)}

    def raw_query(self, sql, *params):
        """The first value of a query on the SQLite file, without geoflows."""
        raw = sqlite3.connect(self.path)
        with contextlib.closing(raw):
            return raw.execute(sql, params).fetchone()[0]

    def raw_step_data(self, book, name):
        """The ``data`` column of step ``name`` of ``book``, as stored."""
        return self.raw_query(
            'SELECT s.data FROM gf_steps s JOIN gf_flows f '
            'ON s.flow_uuid = f.uuid WHERE f.book_uuid = ? AND s.name = ?',
            book.uuid, name)


class TestFlowRuns(BackendTestCase):

    def test_successful_steps_are_success_in_a_reopened_store(self):
        book = self.run_flow(MakeConfig('make'), UseConfig('use'))

        steps = self.steps(book, self.open_store())

        self.assertEqual({'make': states.SUCCESS, 'use': states.SUCCESS},
                         {name: row['state'] for name, row in steps.items()})
        self.assertEqual({states.SUCCESS},
                         {row['unit_state'] for row in steps.values()})

    def test_results_are_preserved_in_a_reopened_store(self):
        book = self.run_flow(MakeConfig('make'), UseConfig('use'))
        conn = self.open_store().taskflow_backend().get_connection()

        fd = next(iter(conn.get_logbook(book.uuid)))

        results = {ad.name: ad.results for ad in fd}
        self.assertEqual({'make': {'vlan': 101, 'name': 'infra'},
                          'use': 102}, results)

    def test_each_step_has_start_and_finish_times_in_order(self):
        book = self.run_flow(MakeConfig('make'), UseConfig('use'))

        steps = self.steps(book, self.open_store())

        make, use = steps['make'], steps['use']
        for row in (make, use):
            self.assertIsNotNone(row['started_at'])
            self.assertLessEqual(row['started_at'], row['finished_at'])
            self.assertIsNone(row['revert_started_at'])
            self.assertIsNone(row['revert_finished_at'])
        self.assertLessEqual(make['finished_at'], use['started_at'])

    def test_completed_steps_do_not_run_again_from_a_reopened_store(self):
        calls = []
        book = self.run_flow(Record('first', calls), Record('second', calls))
        backend = self.open_store().taskflow_backend()
        stored = backend.get_connection().get_logbook(book.uuid)

        self.load(stored, Record('first', calls), Record('second', calls),
                  backend=backend).run()

        self.assertEqual(['first', 'second'], calls)

    def test_stored_result_feeds_a_step_added_on_resume(self):
        book = self.run_flow(MakeConfig('make'))
        backend = self.open_store().taskflow_backend()
        stored = backend.get_connection().get_logbook(book.uuid)

        engine = self.load(stored, MakeConfig('make'), UseConfig('use'),
                           backend=backend)
        engine.run()

        self.assertEqual(102, engine.storage.get('use'))

    def test_failed_flow_reverts_and_records_revert_times(self):
        calls = []
        book = self.save_book()
        engine = self.load(book, Record('create', calls), Fail('check'))

        self.assertRaises(RuntimeError, engine.run)

        steps = self.steps(book, self.open_store())
        self.assertEqual(['create', 'revert create'], calls)
        self.assertEqual({'create': states.REVERTED,
                          'check': states.REVERTED},
                         {name: row['state'] for name, row in steps.items()})
        create = steps['create']
        self.assertLessEqual(create['started_at'], create['finished_at'])
        self.assertLessEqual(create['finished_at'],
                             create['revert_started_at'])
        self.assertLessEqual(create['revert_started_at'],
                             create['revert_finished_at'])
        self.assertIsNotNone(steps['check']['revert_finished_at'])

    def test_failure_is_stored_with_its_message(self):
        book = self.save_book()
        engine = self.load(book, Fail('check', 'port 7 is DOWN'))

        self.assertRaises(RuntimeError, engine.run)

        data = json.loads(self.steps(book)['check']['data'])
        self.assertEqual('port 7 is DOWN', data['failure']['exception_str'])

    def test_registered_secret_in_a_failure_is_masked_in_the_store(self):
        secret = uuid.uuid4().hex
        secrets.register(secret)
        book = self.save_book()
        engine = self.load(book, Fail('check', 'peer refused %s' % secret))

        self.assertRaises(RuntimeError, engine.run)

        raw = self.raw_step_data(book, 'check')
        self.assertNotIn(secret, raw)
        self.assertEqual('peer refused ***',
                         json.loads(raw)['failure']['exception_str'])

    def test_registered_secret_in_a_result_is_masked_in_the_store(self):
        secret = uuid.uuid4().hex

        class ReturnSecret(task.Task):
            def execute(self):
                secrets.register(secret)
                return {'key': secret}

        book = self.run_flow(ReturnSecret('make'))

        raw = self.raw_step_data(book, 'make')
        self.assertNotIn(secret, raw)
        self.assertEqual({'key': '***'}, json.loads(raw)['results'])


class AtomTestCase(BackendTestCase):
    """A saved logbook with one flow detail holding one task detail."""

    def setUp(self):
        super().setUp()
        self.book = models.LogBook('interconnect-create')
        self.fd = models.FlowDetail('unit-1', str(uuid.uuid4()))
        self.ad = models.TaskDetail('create-network', str(uuid.uuid4()))
        self.fd.add(self.ad)
        self.book.add(self.fd)
        self.conn.save_logbook(self.book)

    def update(self, when=T0, **changes):
        """Change the task detail's attributes and save it at ``when``."""
        for name, value in changes.items():
            setattr(self.ad, name, value)
        with at(when):
            self.conn.update_atom_details(self.ad)

    def row(self):
        return self.steps(self.book)['create-network']

    def stored_data(self):
        return json.loads(self.raw_step_data(self.book, self.ad.name))


class TestAtomWrites(AtomTestCase):

    def test_saved_logbook_has_its_step(self):
        row = self.row()

        self.assertEqual(('unit-1', 'TASK_DETAIL'),
                         (row['unit'], row['atom_type']))

    def test_progress_only_update_is_not_written(self):
        before = self.store.writes

        self.ad.meta['progress'] = 0.5
        self.conn.update_atom_details(self.ad)

        self.assertEqual(before, self.store.writes)
        self.assertNotIn('progress', self.stored_data()['meta'])

    def test_progress_details_only_update_is_not_written(self):
        before = self.store.writes

        self.ad.meta['progress'] = 0.5
        self.ad.meta['progress_details'] = {'at_progress': 0.5,
                                            'details': {'polls': 3}}
        self.conn.update_atom_details(self.ad)

        self.assertEqual(before, self.store.writes)

    def test_unchanged_atom_is_not_written_again(self):
        before = self.store.writes

        self.conn.update_atom_details(self.ad)

        self.assertEqual(before, self.store.writes)

    def test_state_change_is_written(self):
        before = self.store.writes

        self.update(state=states.RUNNING, intention=states.EXECUTE)

        self.assertEqual(before + 1, self.store.writes)
        self.assertEqual((states.RUNNING, states.EXECUTE),
                         (self.row()['state'], self.row()['intention']))

    def test_meta_change_other_than_progress_is_written(self):
        before = self.store.writes

        self.ad.meta['network_id'] = 'net-1'
        self.conn.update_atom_details(self.ad)

        self.assertEqual(before + 1, self.store.writes)
        self.assertEqual('net-1', self.stored_data()['meta']['network_id'])

    def test_progress_is_not_stored(self):
        # Taskflow reports progress around every task; geoflows does not
        # use it, and storing it would cost an encoding per report.
        self.ad.meta['progress'] = 0.5
        self.ad.meta['other'] = 'kept'
        self.conn.update_atom_details(self.ad)

        self.update(state=states.RUNNING)

        self.assertNotIn('progress', self.stored_data()['meta'])
        self.assertEqual('kept', self.stored_data()['meta']['other'])

    def test_running_stamps_started_at(self):
        self.update(minutes(1), state=states.RUNNING)

        self.assertEqual((minutes(1), None),
                         (self.row()['started_at'],
                          self.row()['finished_at']))

    def test_success_stamps_finished_at(self):
        self.update(minutes(1), state=states.RUNNING)

        self.update(minutes(2), state=states.SUCCESS, results={'id': 'n1'})

        self.assertEqual((minutes(1), minutes(2)),
                         (self.row()['started_at'],
                          self.row()['finished_at']))

    def test_failure_stamps_finished_at(self):
        self.update(minutes(1), state=states.RUNNING)

        self.update(minutes(2), state=states.FAILURE)

        self.assertEqual(minutes(2), self.row()['finished_at'])

    def test_running_again_restarts_the_clock(self):
        self.update(minutes(1), state=states.RUNNING)
        self.update(minutes(2), state=states.FAILURE)

        self.update(minutes(3), state=states.RUNNING)

        self.assertEqual((minutes(3), None),
                         (self.row()['started_at'],
                          self.row()['finished_at']))

    def test_revert_stamps_revert_times_and_keeps_run_times(self):
        self.update(minutes(1), state=states.RUNNING)
        self.update(minutes(2), state=states.SUCCESS)

        self.update(minutes(3), state=states.REVERTING,
                    intention=states.REVERT)
        self.update(minutes(4), state=states.REVERTED)

        row = self.row()
        self.assertEqual(
            (minutes(1), minutes(2), minutes(3), minutes(4)),
            (row['started_at'], row['finished_at'],
             row['revert_started_at'], row['revert_finished_at']))

    def test_revert_failure_stamps_revert_finished_at(self):
        self.update(minutes(3), state=states.REVERTING)

        self.update(minutes(4), state=states.REVERT_FAILURE)

        self.assertEqual(minutes(4), self.row()['revert_finished_at'])

    def test_reverting_again_clears_revert_finished_at(self):
        self.update(minutes(3), state=states.REVERTING)
        self.update(minutes(4), state=states.REVERT_FAILURE)

        self.update(minutes(5), state=states.REVERTING)

        self.assertEqual((minutes(5), None),
                         (self.row()['revert_started_at'],
                          self.row()['revert_finished_at']))

    def test_update_through_a_fresh_backend_is_written(self):
        other = self.open_store()
        conn = other.taskflow_backend().get_connection()

        self.ad.state = states.RUNNING
        conn.update_atom_details(self.ad)

        self.assertEqual(1, other.writes)
        self.assertEqual(states.RUNNING, self.row()['state'])

    def test_update_of_unknown_atom_is_not_found(self):
        unknown = models.TaskDetail('other', str(uuid.uuid4()))

        self.assertRaises(tf_exc.NotFound, self.conn.update_atom_details,
                          unknown)

    def test_update_of_unknown_flow_is_not_found(self):
        unknown = models.FlowDetail('other', str(uuid.uuid4()))

        self.assertRaises(tf_exc.NotFound, self.conn.update_flow_details,
                          unknown)

    def test_flow_update_writes_state_and_meta(self):
        self.fd.state = states.RUNNING
        self.fd.meta = {'attempt': 2}

        self.conn.update_flow_details(self.fd)

        stored = self.conn.get_flow_details(self.fd.uuid)
        self.assertEqual((states.RUNNING, {'attempt': 2}),
                         (stored.state, stored.meta))

    def test_registered_secret_in_logbook_meta_is_masked(self):
        secret = uuid.uuid4().hex
        secrets.register(secret)
        self.book.meta = {'note': 'key %s' % secret}

        self.conn.save_logbook(self.book)

        raw = self.raw_query('SELECT meta FROM gf_logbooks WHERE uuid = ?',
                             self.book.uuid)
        self.assertEqual({'note': 'key ***'}, json.loads(raw))


class TestReads(AtomTestCase):

    def test_get_logbook_returns_its_flows_and_atoms(self):
        book = self.conn.get_logbook(self.book.uuid)

        self.assertEqual('interconnect-create', book.name)
        self.assertEqual([self.fd.uuid], [fd.uuid for fd in book])
        self.assertEqual([self.ad.uuid],
                         [ad.uuid for ad in book.find(self.fd.uuid)])

    def test_get_logbook_keeps_meta_and_creation_time(self):
        self.book.meta = {'plan': 'paris-lyon'}
        self.conn.save_logbook(self.book)

        book = self.open_store().taskflow_backend().get_connection(
        ).get_logbook(self.book.uuid)

        self.assertEqual({'plan': 'paris-lyon'}, book.meta)
        self.assertIsNotNone(book.created_at)

    def test_an_injector_recorded_without_values_loads(self):
        # Taskflow writes the injector's record, then its values: a
        # controller killed in between left a record it could not load.
        from geoflows.store import taskflow_backend
        row = type('Row', (), {
            'atom_type': models.atom_detail_type(models.TaskDetail('x', 'y')),
            'data': json.dumps({'name': taskflow_backend.INJECTOR,
                                'uuid': 'u-1', 'results': None}),
            'name': taskflow_backend.INJECTOR, 'uuid': 'u-1'})

        loaded = self.store.taskflow_backend().atom_from_row(row)

        self.assertEqual({}, loaded.results)

    def test_logbook_of_many_flows_is_read_in_three_queries(self):
        # The book, its flows, and all their steps: a job of thousands of
        # units must not cost a query per unit when it resumes.
        book = models.LogBook('takeover')
        for i in range(30):
            fd = models.FlowDetail('vnf-%d' % i, str(uuid.uuid4()))
            for step in ('boot', 'attach'):
                fd.add(models.TaskDetail(step, str(uuid.uuid4())))
            book.add(fd)
        self.conn.save_logbook(book)
        queries = []
        for engine in {self.store.engine, self.store.read_engine}:
            sa.event.listen(engine, 'before_cursor_execute',
                            lambda *args: queries.append(args[2]))

        loaded = self.conn.get_logbook(book.uuid)

        selects = [q for q in queries if q.startswith('SELECT')]
        self.assertEqual(3, len(selects), queries)
        self.assertEqual(30, len(loaded))
        self.assertEqual({('attach', 'boot')},
                         {tuple(sorted(ad.name for ad in fd))
                          for fd in loaded})

    def test_lazy_logbook_has_no_flows(self):
        book = self.conn.get_logbook(self.book.uuid, lazy=True)

        self.assertEqual(0, len(book))

    def test_get_unknown_logbook_is_not_found(self):
        self.assertRaises(tf_exc.NotFound, self.conn.get_logbook,
                          str(uuid.uuid4()))

    def test_get_logbooks_returns_every_book(self):
        other = self.save_book('unit-a', 'unit-b')

        books = {book.uuid: len(book) for book in self.conn.get_logbooks()}

        self.assertEqual({self.book.uuid: 1, other.uuid: 2}, books)

    def test_get_flows_for_book(self):
        other = self.save_book('unit-a', 'unit-b')

        names = [fd.name for fd in self.conn.get_flows_for_book(other.uuid)]

        self.assertEqual(['unit-a', 'unit-b'], sorted(names))

    def test_get_flow_details_includes_atoms(self):
        fd = self.conn.get_flow_details(self.fd.uuid)

        self.assertEqual(['create-network'], [ad.name for ad in fd])

    def test_lazy_flow_details_has_no_atoms(self):
        fd = self.conn.get_flow_details(self.fd.uuid, lazy=True)

        self.assertEqual(('unit-1', 0), (fd.name, len(fd)))

    def test_get_unknown_flow_details_is_not_found(self):
        self.assertRaises(tf_exc.NotFound, self.conn.get_flow_details,
                          str(uuid.uuid4()))

    def test_get_atom_details_returns_a_task_detail(self):
        self.update(state=states.SUCCESS, results={'id': 'net-1'})

        ad = self.open_store().taskflow_backend().get_connection(
        ).get_atom_details(self.ad.uuid)

        self.assertIsInstance(ad, models.TaskDetail)
        self.assertEqual(('create-network', states.SUCCESS, {'id': 'net-1'}),
                         (ad.name, ad.state, ad.results))

    def test_retry_detail_reads_back_as_a_retry_detail(self):
        retry = models.RetryDetail('retry-poll', str(uuid.uuid4()))
        self.fd.add(retry)
        self.conn.save_logbook(self.book)

        ad = self.conn.get_atom_details(retry.uuid)

        self.assertIsInstance(ad, models.RetryDetail)

    def test_get_unknown_atom_details_is_not_found(self):
        self.assertRaises(tf_exc.NotFound, self.conn.get_atom_details,
                          str(uuid.uuid4()))

    def test_get_atoms_for_flow(self):
        second = models.TaskDetail('create-subnet', str(uuid.uuid4()))
        self.fd.add(second)
        self.conn.save_logbook(self.book)

        names = [ad.name for ad in self.conn.get_atoms_for_flow(self.fd.uuid)]

        self.assertEqual(['create-network', 'create-subnet'], sorted(names))

    def test_destroy_logbook_removes_its_flows_and_steps(self):
        other = self.save_book('unit-a')

        self.conn.destroy_logbook(self.book.uuid)

        self.assertRaises(tf_exc.NotFound, self.conn.get_logbook,
                          self.book.uuid)
        self.assertRaises(tf_exc.NotFound, self.conn.get_flow_details,
                          self.fd.uuid)
        self.assertRaises(tf_exc.NotFound, self.conn.get_atom_details,
                          self.ad.uuid)
        self.assertEqual([other.uuid],
                         [book.uuid for book in self.conn.get_logbooks()])

    def test_destroy_unknown_logbook_is_not_found(self):
        self.assertRaises(tf_exc.NotFound, self.conn.destroy_logbook,
                          str(uuid.uuid4()))

    def test_clear_all_removes_everything(self):
        self.save_book('unit-a')

        self.conn.clear_all()

        self.assertEqual([], list(self.conn.get_logbooks()))
        self.assertEqual([], self.store.job_steps(self.book.uuid))

    def test_validate_checks_the_store(self):
        self.conn.validate()

    def test_connection_upgrade_creates_the_tables(self):
        fresh = store.StateStore('sqlite:///%s' % os.path.join(
            self.tmp, 'fresh.sqlite'))
        self.addCleanup(fresh.close)
        conn = fresh.taskflow_backend().get_connection()

        conn.upgrade()

        self.assertEqual([], list(conn.get_logbooks()))


class ReturnNumber(task.Task):

    def execute(self):
        return {'n': 987654321, 'text': 'holds 987654321'}


class TestMaskingKeepsJson(BackendTestCase):

    def test_a_secret_inside_a_number_leaves_the_stored_json_valid(self):
        secrets.register('87654321')
        book = self.run_flow(ReturnNumber('number'))
        data = json.loads(self.raw_step_data(book, 'number'))
        self.assertEqual(987654321, data['results']['n'])
        self.assertEqual('holds 9***', data['results']['text'])
        # And the job can be read back by another process.
        other = self.open_store().taskflow_backend().get_connection()
        self.assertEqual(1, len(list(other.get_logbook(book.uuid))))


class TestForgetAfterDeletes(BackendTestCase):

    def test_a_book_saved_again_after_destroy_keeps_its_atoms(self):
        book = self.run_flow(ReturnNumber('first'))
        self.conn.destroy_logbook(book.uuid)
        self.conn.save_logbook(book)
        fd = next(iter(book))
        self.assertEqual(['first'], [ad.name for ad in
                                     self.conn.get_atoms_for_flow(fd.uuid)])

    def test_updating_an_atom_after_clear_all_is_not_found(self):
        book = self.run_flow(ReturnNumber('first'))
        atom = next(iter(next(iter(book))))
        self.conn.clear_all()
        atom.state = states.REVERTED
        self.assertRaises(tf_exc.NotFound, self.conn.update_atom_details,
                          atom)
