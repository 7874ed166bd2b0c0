"""The lean forward run of a unit (geoflows.forward) and its hand-over."""

import threading
import time

import futurist
from oslo_utils import uuidutils
from taskflow.patterns import graph_flow
from taskflow.patterns import linear_flow
from taskflow.persistence import models
from taskflow import retry
from taskflow import states
from taskflow import task

from geoflows import engines
from geoflows import exceptions
from geoflows import forward
from geoflows import runner
from geoflows.tasks import base as tasks_base
from tests.unit import base


class _Step(task.Task):
    """Returns its name; records that it ran, or was reverted."""

    def __init__(self, name, log, requires=(), fail=False):
        super().__init__(name=name, provides=name, requires=list(requires))
        self.log = log
        self.fail = fail

    def execute(self, **inputs):
        self.log.append(('run', self.name, sorted(inputs)))
        if self.fail:
            raise RuntimeError('%s fails' % self.name)
        return self.name

    def revert(self, *args, **kwargs):
        self.log.append(('revert', self.name))


class _Wait(task.Task):
    """NotReady ``times`` times, then ready."""

    def __init__(self, name, log, times, requires=()):
        super().__init__(name=name, provides=name, requires=list(requires))
        self.log = log
        self.times = times

    def execute(self, **inputs):
        self.log.append(('run', self.name))
        if self.times:
            self.times -= 1
            raise exceptions.NotReady('%s not yet' % self.name)
        return 'ready'


def paced(name, *tasks, attempts=5):
    return linear_flow.Flow(name + '.wait', retry=tasks_base.PacedRetry(
        name + '.retry', attempts, 0.0)).add(*tasks)


class TestForward(base.TestCase):

    def setUp(self):
        super().setUp()
        self.log = []
        self.pool = futurist.ThreadPoolExecutor(max_workers=4)
        self.addCleanup(self.pool.shutdown, wait=False)
        self.detail = models.FlowDetail('unit', uuidutils.generate_uuid())

    def storage(self, flow):
        return engines.ParallelEngine(flow, self.detail, None, {
            'executor': self.pool}).storage

    def vnf_like(self, fail=None, waits=0, attempts=5):
        """Two look-ups, a port, a server after both, a paced wait."""
        def step(name, requires=()):
            return _Step(name, self.log, requires, fail=name == fail)
        return graph_flow.Flow('unit').add(
            step('network'), step('flavor'),
            step('port', ['network']),
            step('server', ['port', 'flavor']),
            paced('server', _Wait('server.ready', self.log, waits,
                                  ['server']), attempts=attempts),
            step('ready', ['server.ready']))

    def ran(self):
        return [entry[1] for entry in self.log if entry[0] == 'run']

    def test_steps_run_after_what_they_need_and_are_recorded(self):
        flow = self.vnf_like()
        storage = self.storage(flow)
        self.assertTrue(forward.run(flow, storage, self.pool))
        ran = self.ran()
        self.assertEqual(6, len(ran))
        for before, after in (('network', 'port'), ('port', 'server'),
                              ('flavor', 'server'),
                              ('server', 'server.ready'),
                              ('server.ready', 'ready')):
            self.assertLess(ran.index(before), ran.index(after))
        self.assertIn(('run', 'server', ['flavor', 'port']), self.log)
        self.assertEqual(states.SUCCESS, storage.get_flow_state())
        for name in ('network', 'port', 'server.retry', 'server.ready',
                     'ready'):
            self.assertEqual(states.SUCCESS, storage.get_atom_state(name))
        self.assertEqual('server', storage.get('server'))

    def test_a_paced_wait_is_retried_as_taskflow_records_it(self):
        flow = self.vnf_like(waits=2)
        storage = self.storage(flow)
        self.assertTrue(forward.run(flow, storage, self.pool))
        self.assertEqual(3, self.ran().count('server.ready'))
        history = storage.get_retry_history('server.retry')
        self.assertEqual(3, len(history))
        self.assertTrue(history[0][1]['server.ready'].check(
            exceptions.NotReady))
        self.assertEqual({}, history[2][1])

    def test_a_failure_is_handed_to_taskflow_which_reverts(self):
        flow = self.vnf_like(fail='port')
        storage = self.storage(flow)
        self.assertFalse(forward.run(flow, storage, self.pool))
        self.assertNotIn('server', self.ran())  # nothing after the failure
        self.assertEqual(states.FAILURE, storage.get_atom_state('port'))
        self.assertIn('port fails', str(storage.get('port')))
        # Taskflow's engine resolves the recorded failure: all undone, and
        # the failed step is not run a second time.
        engine = engines.ParallelEngine(flow, self.detail, None,
                                        {'executor': self.pool})
        engine.compile()
        engine.prepare()
        self.assertRaises(RuntimeError, engine.run)
        self.assertEqual(states.REVERTED, engine.storage.get_flow_state())
        self.assertEqual(1, self.ran().count('port'))
        self.assertIn(('revert', 'network'), self.log)

    def test_a_wait_that_never_ends_is_handed_over(self):
        flow = self.vnf_like(waits=10, attempts=3)
        storage = self.storage(flow)
        self.assertFalse(forward.run(flow, storage, self.pool))
        self.assertEqual(3, self.ran().count('server.ready'))
        self.assertEqual(states.FAILURE,
                         storage.get_atom_state('server.ready'))

    def test_a_stop_request_starts_nothing_more(self):
        flow = self.vnf_like()
        storage = self.storage(flow)
        calls = []

        def stop():
            calls.append(1)
            return len(calls) > 1  # after the first steps started
        self.assertFalse(forward.run(flow, storage, self.pool,
                                     stop_requested=stop))
        self.assertEqual({'network', 'flavor'}, set(self.ran()))
        self.assertEqual(states.PENDING, storage.get_atom_state('port'))

    def test_a_resumed_unit_runs_only_what_is_left(self):
        flow = self.vnf_like(fail='server')
        self.assertFalse(forward.run(flow, self.storage(flow), self.pool))
        # As the runner does when it resumes a unit whose step failed.
        storage = self.storage(self.vnf_like())
        storage.set_atom_state('server', states.PENDING)
        self.log[:] = []
        self.assertTrue(forward.run(self.vnf_like(), storage, self.pool))
        self.assertEqual(['server', 'server.ready', 'ready'], self.ran())

    def test_what_it_does_not_handle_is_left_to_taskflow(self):
        unsupported = [
            graph_flow.Flow('g', retry=retry.Times(2)).add(
                _Step('a', self.log)),
            linear_flow.Flow('l', retry=retry.Times(2)).add(
                _Step('a', self.log)),
            # A paced retry around a step with something to undo.
            paced('a', _Step('a', self.log)),
            linear_flow.Flow('empty'),
        ]
        for flow in unsupported:
            self.assertRaises(forward.Unsupported, forward.shape_of, flow)
            self.assertFalse(forward.run(flow, self.storage(flow),
                                         self.pool))
        self.assertEqual([], self.log)

    def test_a_reverting_unit_is_left_to_taskflow(self):
        flow = self.vnf_like()
        storage = self.storage(flow)
        storage.ensure_atoms([a for a, _ in flow.iter_nodes()
                              if isinstance(a, task.Task)])
        storage.set_atom_intention('network', states.REVERT)
        self.assertFalse(forward.run(flow, storage, self.pool))
        self.assertEqual([], self.log)


class TestForwardOnTheRunnersPool(TestForward):
    """The same, on the runner's call pool: lone steps run in the unit."""

    def setUp(self):
        super().setUp()
        self.pool = runner.CallPool(4)
        self.addCleanup(self.pool.shutdown, wait=False)

    def test_a_chain_runs_in_the_unit_s_thread_side_steps_in_the_pool(self):
        threads = {}

        class Where(task.Task):
            def execute(self, **inputs):
                threads[self.name] = threading.get_ident()
                return self.name

        def step(name, *requires):
            return Where(name=name, provides=name, requires=list(requires))
        flow = graph_flow.Flow('unit').add(
            step('network'), step('flavor'), step('port', 'network'),
            step('server', 'port', 'flavor'), step('ready', 'server'))

        self.assertTrue(forward.run(flow, self.storage(flow), self.pool))

        here = threading.get_ident()
        self.assertEqual(here, threads['server'])
        self.assertEqual(here, threads['ready'])
        self.assertNotEqual(here, threads['network'])
        self.assertNotEqual(here, threads['flavor'])


class TestCallPool(base.TestCase):

    def test_calls_here_and_in_the_pool_share_the_cap(self):
        pool = runner.CallPool(3)
        self.addCleanup(pool.shutdown, wait=False)
        lock = threading.Lock()
        now = []
        most = []

        def call():
            with lock:
                now.append(1)
                most.append(len(now))
            time.sleep(0.01)
            with lock:
                now.pop()
        futures = [pool.submit(call) for _ in range(6)]
        threads = [threading.Thread(target=pool.run_here, args=(call,))
                   for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for future in futures:
            future.result()
        self.assertEqual(12, len(most))
        self.assertLessEqual(max(most), 3)


class _LookUp(task.Task):
    """A step with nothing to undo; records what the store says of it."""

    def __init__(self, name, seen, store, requires=()):
        super().__init__(name=name, provides=name, requires=list(requires))
        self.seen, self.store = seen, store

    def execute(self, **inputs):
        self.seen[self.name] = self.store.recorded(self.name)
        return self.name


class _Make(_LookUp):
    """A step with something to undo (it would create a resource)."""

    def revert(self, *args, **kwargs):
        pass


class TestWritesOnTheStateStore(base.UnitStoreTestCase):
    """What a lean run writes, and when, in a real state store."""

    def setUp(self):
        super().setUp()
        self.pool = futurist.ThreadPoolExecutor(max_workers=4)
        self.addCleanup(self.pool.shutdown, wait=False)
        self.seen = {}

    def recorded(self, name):
        """The step's committed state, read on a connection of its own."""
        [row] = self.store.job_steps(self.book.uuid, names=[name])
        return row['state']

    def run_unit(self, on_step=None, commits=None):
        flow = graph_flow.Flow('unit').add(
            _LookUp('network', self.seen, self),
            _Make('port', self.seen, self, ['network']),
            _LookUp('port.check', self.seen, self, ['port']))
        storage = engines.ParallelEngine(flow, self.detail, self.backend, {
            'executor': self.pool}).storage
        # As the runner loads a unit: its steps recorded.
        storage.ensure_atoms([a for a, _ in flow.iter_nodes()])
        before = self.store.commits
        done = forward.run(flow, storage, self.pool, on_step=on_step)
        if commits is not None:
            commits.append(self.store.commits - before)
        return done

    def test_what_may_need_undoing_is_running_before_its_call(self):
        told = []

        def on_step(name, state, error):
            # Told once committed: the store already says so.
            told.append((name, state, self.recorded(name)))
        self.assertTrue(self.run_unit(on_step))

        # The port's revert must find it after a crash: RUNNING first.
        self.assertEqual(states.RUNNING, self.seen['port'])
        # A look-up is run again after a crash anyway: no RUNNING write.
        self.assertEqual(states.PENDING, self.seen['network'])
        self.assertEqual(states.PENDING, self.seen['port.check'])
        self.assertIn(('port', states.RUNNING, states.RUNNING), told)
        for name in ('network', 'port', 'port.check'):
            self.assertIn((name, states.SUCCESS, states.SUCCESS), told)
        # Every step still has its start and end times.
        for row in self.store.job_steps(self.book.uuid):
            self.assertLessEqual(row['started_at'], row['finished_at'],
                                 row['name'])

    def test_a_step_s_end_and_the_next_start_share_a_commit(self):
        commits = []
        self.assertTrue(self.run_unit(commits=commits))
        # The unit RUNNING with the network look-up started; its end with
        # the port RUNNING; the port's end; the check's end with the
        # unit's SUCCESS.
        self.assertEqual([4], commits)
