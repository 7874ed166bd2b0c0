"""Tests of the job runner against the fake cloud."""

import os
import sqlite3
import threading
import time

import fixtures
from oslo_utils import uuidutils
from taskflow.patterns import linear_flow
from taskflow.persistence import models
from taskflow import states
from taskflow import task

from geoflows import engines
from geoflows import exceptions
from geoflows import flows
from geoflows import jobs
from geoflows import runner
from geoflows import store
from geoflows.testing import fakecloud
from tests.unit import base


class RunnerTestCase(base.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.plan = base.make_plan()
        self.initial = self.inventory()

    def setup(self, names=('vpn',), **kwargs):
        return self.runner.start('interconnect.setup', self.plan,
                                 list(names), **kwargs)

    def created(self, job, unit):
        return job.result['units'][unit]['created']


class TestSuccess(RunnerTestCase):

    def test_setup_records_a_successful_job(self):
        job = self.setup()
        self.assertEqual(jobs.SUCCESS, job.state)
        self.assertEqual('interconnect.setup', job.operation)
        self.assertEqual('test', job.plan_name)
        self.assertEqual(self.plan.digest, job.plan_digest)
        self.assertEqual(['vpn'], [unit['name'] for unit in job.units])
        self.assertEqual(1, job.attempts)
        self.assertIsNotNone(job.finished_at)
        self.assertGreaterEqual(job.finished_at, job.started_at)
        self.assertIsNone(job.error)
        self.assertEqual(8, self.created(job, 'vpn'))

    def test_every_step_has_a_state_and_times(self):
        job = self.setup()
        _job, steps = self.runner.steps(job.id)
        self.assertIn('local.bgpvpn', [s['name'] for s in steps])
        for step in steps:
            self.assertEqual(states.SUCCESS, step['state'], step['name'])
            self.assertIsNotNone(step['started_at'], step['name'])
            self.assertGreaterEqual(step['finished_at'], step['started_at'])
        self.assertNotIn('job_id', [s['name'] for s in steps])

    def test_all_interconnects_by_default(self):
        job = self.runner.start('interconnect.setup', self.plan)
        self.assertEqual(jobs.SUCCESS, job.state)
        self.assertEqual({'vpn', 'sec', 'cells'}, set(job.result['units']))

    def test_second_setup_creates_nothing(self):
        self.setup()
        after_first = self.inventory()
        job = self.setup()
        self.assertEqual(jobs.SUCCESS, job.state)
        self.assertEqual(0, self.created(job, 'vpn'))
        self.assertEqual(after_first, self.inventory())

    def test_progress_events(self):
        events = []
        self.setup(on_event=events.append)
        seen = {(e.step, e.state) for e in events}
        self.assertIn(('local.bgpvpn', states.RUNNING), seen)
        self.assertIn(('local.bgpvpn', states.SUCCESS), seen)
        self.assertEqual({'vpn'}, {e.unit for e in events})

    def test_unknown_interconnect(self):
        error = self.assertRaises(exceptions.GeoflowsError, self.setup,
                                  names=['nope'])
        self.assertIn("no interconnect 'nope'", str(error))
        self.assertIn('vpn, sec, cells', str(error))

    def test_job_id_prefix(self):
        job = self.setup()
        self.assertEqual(job.id, self.runner.get(job.id[:8]).id)


class TestFailure(RunnerTestCase):

    def test_remote_failure_reverts_both_sides(self):
        self.site('lyon').fail('create_vpn_ipsec_site_connection')
        job = self.setup(names=['sec'])
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIn('sec: step remote.connection failed', job.error)
        self.assertIn("site 'lyon'", job.error)
        self.assertIn('HTTP 500', job.error)
        self.assertEqual(self.initial, self.inventory())

    def test_failure_releases_the_route_target(self):
        self.site('lyon').fail('create_bgpvpn_network_association')
        job = self.setup()
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIsNone(self.store.route_target_of('test/vpn'))
        self.assertEqual(self.initial, self.inventory())

    def test_failed_unit_reverts_the_units_that_succeeded(self):
        self.site('lyon').fail('create_vpn_ipsec_site_connection')
        job = self.runner.start('interconnect.setup', self.plan)
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertEqual(self.initial, self.inventory())

    def test_a_vpn_service_that_never_becomes_active_reverts_all(self):
        self.site('lyon').reads_until_active = 100
        job = self.setup(names=['sec'])
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIn('is PENDING_CREATE, not ACTIVE yet', job.error)
        self.assertEqual(self.initial, self.inventory())

    def test_a_vpn_service_in_error_reverts_all(self):
        self.site('lyon').vpn_status = 'ERROR'
        job = self.setup(names=['sec'])
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIn("VPN service 'gf-test-sec' on site 'lyon' is in ERROR",
                      job.error)
        self.assertEqual(self.initial, self.inventory())

    def test_waits_that_succeed_after_a_few_checks(self):
        self.site('lyon').reads_until_active = 2
        job = self.setup(names=['sec'])
        self.assertEqual(jobs.SUCCESS, job.state)

    def test_an_unknown_site_is_reported_as_a_failed_step(self):
        # Both sides fail at once: each failure is an execute failure, even
        # those that happen while other steps already revert.
        original = self.clouds.network

        def network(site):
            if site['region'] == 'lyon':
                raise exceptions.SiteError(site['name'], 'unknown cloud')
            return original(site)
        self.useFixture(fixtures.MockPatchObject(self.clouds, 'network',
                                                 network))
        job = self.setup()
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIn("vpn: step route_targets failed: site 'lyon': unknown "
                      "cloud", job.error)
        self.assertNotIn('undoing', job.error)

    def test_keep_on_failure_then_resume(self):
        self.site('lyon').fail('create_vpn_ipsec_site_connection')
        job = self.setup(names=['sec'], keep_on_failure=True)
        self.assertEqual(jobs.FAILED, job.state)
        self.assertNotEqual(self.initial, self.inventory())
        job = self.runner.resume(job.id)
        self.assertEqual(jobs.SUCCESS, job.state)
        self.assertEqual(2, job.attempts)
        self.assertEqual(20, self.created(job, 'sec'))
        check = self.runner.start('interconnect.check', self.plan, ['sec'])
        self.assertEqual('ok', check.result['units']['sec']['status'])

    def test_keep_on_failure_then_revert(self):
        self.site('lyon').fail('create_vpn_ipsec_site_connection')
        job = self.setup(names=['sec'], keep_on_failure=True)
        job = self.runner.revert(job.id)
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertEqual(self.initial, self.inventory())

    def test_a_failed_revert_can_be_repeated(self):
        job = self.setup()
        self.site('paris').fail('delete_bgpvpn')
        job = self.runner.revert(job.id)
        self.assertEqual(jobs.FAILED, job.state)
        self.assertIn('revert failed', job.error)
        self.assertIn('undoing step local.bgpvpn failed', job.error)
        job = self.runner.revert(job.id)
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertEqual(self.initial, self.inventory())

    def test_unreachable_site(self):
        self.site('lyon').fail('bgpvpns', error=runner.exceptions.SiteError(
            'lyon', 'cannot reach the API (ConnectFailure)'))
        job = self.setup()
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIn('cannot reach the API', job.error)
        self.assertEqual(self.initial, self.inventory())


class TestRevertAndResume(RunnerTestCase):

    def test_revert_a_successful_job(self):
        job = self.setup(names=['vpn', 'sec', 'cells'])
        job = self.runner.revert(job.id)
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertEqual('reverted on request', job.error)
        self.assertEqual(self.initial, self.inventory())
        self.assertIsNone(self.store.route_target_of('test/vpn'))

    def test_revert_keeps_what_an_earlier_job_made(self):
        self.setup()
        after_first = self.inventory()
        second = self.setup()
        self.assertEqual(jobs.REVERTED, self.runner.revert(second.id).state)
        self.assertEqual(after_first, self.inventory())
        self.assertIsNotNone(self.store.route_target_of('test/vpn'))

    def test_nothing_to_resume_or_revert(self):
        job = self.setup()
        self.assertRaises(exceptions.JobError, self.runner.resume, job.id)
        self.runner.revert(job.id)
        self.assertRaises(exceptions.JobError, self.runner.revert, job.id)
        self.assertRaises(exceptions.JobError, self.runner.resume, job.id)

    def test_unknown_job(self):
        error = self.assertRaises(exceptions.JobNotFound, self.runner.get,
                                  'no-such-job')
        self.assertIn('geoflows job list', str(error))


class CrashPoint(object):
    """Freeze a job at a step, as a dead controller would leave it.

    The state store is as committed, the cloud holds every call made.

    The job's engine is held when ``step`` reaches ``state``; meanwhile
    steps already running elsewhere may complete their OpenStack call
    without their result being saved, as in a real crash.
    """

    def __init__(self, step, state):
        self.step = step
        self.state = state
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, event):
        if (event.step, event.state) == (self.step, self.state) and \
                not self.reached.is_set():
            self.reached.set()
            self.release.wait(30)

    def crash(self, world, job_id, directory):
        """Run the job until the point; copy the store and the cloud."""
        thread = threading.Thread(target=world.runner.run,
                                  args=(job_id, self))
        thread.start()
        try:
            if not self.reached.wait(30):
                raise AssertionError('never reached %s %s'
                                     % (self.step, self.state))
            time.sleep(0.05)  # let calls already in flight land
            path = os.path.join(directory, 'state.sqlite')
            with world.clouds.frozen():
                source = sqlite3.connect(world.store.engine.url.database)
                target = sqlite3.connect(path)
                source.backup(target)
                source.close()
                target.close()
                clouds = world.clouds.clone()
        finally:
            self.release.set()
            thread.join(30)
        return path, clouds


class World(object):
    """A state store, a fake cloud and a runner in their own directory.

    Their own lock files too: another controller.
    """

    def __init__(self, test, name, clouds=None, path=None):
        self.directory = os.path.join(test.tmp, name)
        os.makedirs(self.directory, exist_ok=True)
        self.clouds = clouds or fakecloud.FakeClouds()
        self.store = store.StateStore('sqlite:///' + (path or os.path.join(
            self.directory, 'state.sqlite')))
        self.runner = runner.Runner(self.store, self.clouds, test.resolver,
                                    base.OPTIONS)
        test.addCleanup(self.store.close)
        test.addCleanup(self.runner.close)

    def inventory(self):
        return {region: self.clouds.site('telco', region).inventory()
                for region in ('paris', 'lyon')}


class TestCrash(RunnerTestCase):
    """A job resumed or reverted after its controller died."""

    POINTS = [('route_targets', states.RUNNING),
              ('local.bgpvpn', states.RUNNING),
              ('remote.bgpvpn', states.SUCCESS),
              ('local.bgpvpn.network.infra-p', states.RUNNING),
              ('report', states.RUNNING)]

    def crashed(self, name, step, state):
        """(restarted world, job id) after a crash of the first world."""
        world = World(self, name)
        job_id = world.runner.create('interconnect.setup', self.plan,
                                     ['vpn'])
        crash_dir = os.path.join(self.tmp, name + '-restarted')
        os.mkdir(crash_dir)
        path, clouds = CrashPoint(step, state).crash(world, job_id,
                                                     crash_dir)
        return World(self, name + '-restarted', clouds, path), job_id

    def test_crashed_job_is_stale(self):
        restarted, job_id = self.crashed('stale', 'local.bgpvpn',
                                         states.RUNNING)
        job = restarted.runner.get(job_id)
        self.assertEqual(jobs.RUNNING, job.state)
        self.assertTrue(job.stale)
        self.assertEqual('RUNNING (stale)', job.display_state)

    def test_resume_after_crash_creates_no_duplicate(self):
        reference = World(self, 'reference')
        reference.runner.start('interconnect.setup', self.plan, ['vpn'])
        for i, (step, state) in enumerate(self.POINTS):
            with self.subTest(step=step, state=state):
                restarted, job_id = self.crashed('resume%d' % i, step, state)
                job = restarted.runner.resume(job_id)
                self.assertEqual(jobs.SUCCESS, job.state)
                self.assertEqual(reference.inventory(),
                                 restarted.inventory())

    def test_revert_after_crash_leaves_nothing(self):
        initial = World(self, 'initial').inventory()
        for i, (step, state) in enumerate(self.POINTS):
            with self.subTest(step=step, state=state):
                restarted, job_id = self.crashed('revert%d' % i, step, state)
                job = restarted.runner.revert(job_id)
                self.assertEqual(jobs.REVERTED, job.state)
                self.assertEqual(initial, restarted.inventory())
                self.assertIsNone(
                    restarted.store.route_target_of('test/vpn'))


class TestAbortAndLocks(RunnerTestCase):

    def setUp(self):
        super().setUp()
        self.clouds.latency = 0.05
        for region in ('paris', 'lyon'):
            self.site(region).latency = 0.05

    def test_a_job_stopped_as_it_shows_running_is_suspended(self):
        # A conductor stopped the moment its job shows RUNNING hands it
        # over: the runner already knows it runs it.
        job_id = self.runner.create('interconnect.setup', self.plan, ['sec'])
        real = self.runner.store.update_job
        found = []

        def update_job(jid, **fields):
            if fields.get('state') == jobs.RUNNING and not found:
                found.append(self.runner.suspend(jid))
            return real(jid, **fields)
        self.patch(self.runner.store, 'update_job', update_job)

        job = self.runner.run(job_id)

        self.assertEqual([True], found)
        self.assertEqual(jobs.SUSPENDED, job.state)
        self.assertEqual(jobs.SUCCESS, self.runner.resume(job_id).state)

    def start_in_thread(self, **kwargs):
        job_id = self.runner.create('interconnect.setup', self.plan, ['sec'],
                                    **kwargs)
        result = {}
        thread = threading.Thread(
            target=lambda: result.update(job=self.runner.run(job_id)))
        thread.start()
        self.addCleanup(thread.join, 30)
        deadline = time.monotonic() + 10
        while self.runner.get(job_id).state != jobs.RUNNING:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        return job_id, thread, result

    def test_abort_reverts(self):
        job_id, thread, result = self.start_in_thread()
        self.runner.abort(job_id)
        thread.join(30)
        self.assertEqual(jobs.REVERTED, result['job'].state)
        self.assertEqual('aborted on request', result['job'].error)
        self.assertEqual(self.initial, self.inventory())

    def test_abort_keep_then_resume(self):
        job_id, thread, result = self.start_in_thread()
        self.runner.abort(job_id, keep=True)
        thread.join(30)
        self.assertEqual(jobs.SUSPENDED, result['job'].state)
        self.assertEqual(jobs.SUCCESS, self.runner.resume(job_id).state)

    def test_abort_a_job_that_is_not_running(self):
        job = self.setup()
        error = self.assertRaises(exceptions.JobError, self.runner.abort,
                                  job.id)
        self.assertIn('is not running', str(error))

    def test_second_job_on_the_same_interconnect_is_refused(self):
        job_id, thread, result = self.start_in_thread()
        error = self.assertRaises(exceptions.JobBusy, self.runner.start,
                                  'interconnect.teardown', self.plan,
                                  ['sec'])
        self.assertIn('test/sec is in use by running job %s' % job_id,
                      str(error))
        thread.join(30)
        self.assertEqual(jobs.SUCCESS, result['job'].state)

    def test_check_runs_beside_a_setup(self):
        job_id, thread, result = self.start_in_thread()
        check = self.runner.start('interconnect.check', self.plan, ['vpn'])
        self.assertEqual(jobs.SUCCESS, check.state)
        thread.join(30)


class TestCheck(RunnerTestCase):

    def test_drift_then_repair(self):
        self.setup()
        raw = self.site('lyon')._raw_network
        assoc = raw.resources('bgpvpn_network_association')[0]
        raw.delete_bgpvpn_network_association(None, assoc.id)
        check = self.runner.start('interconnect.check', self.plan, ['vpn'])
        report = check.result['units']['vpn']
        self.assertEqual('drift', report['status'])
        self.assertEqual(1, len(report['findings']))
        self.assertEqual('lyon', report['findings'][0]['site'])
        self.assertIn('is missing', report['findings'][0]['problem'])
        repair = self.setup()
        self.assertEqual(1, self.created(repair, 'vpn'))
        check = self.runner.start('interconnect.check', self.plan, ['vpn'])
        self.assertEqual('ok', check.result['units']['vpn']['status'])

    def test_asymmetric_route_targets(self):
        self.setup()
        raw = self.site('paris')._raw_network
        vpn = raw.resources('bgpvpn')[0]
        raw.update_bgpvpn(vpn.id, route_targets=['64512:9999'])
        report = self.runner.start('interconnect.check', self.plan,
                                   ['vpn']).result['units']['vpn']
        problems = ' | '.join(f['problem'] for f in report['findings'])
        self.assertIn('asymmetric route targets', problems)
        self.assertIn('has route targets 64512:9999', problems)


class _Record(task.Task):
    """Record the order in which units run and revert."""

    log = []

    def execute(self):
        self.log.append(('run', self.name))

    def revert(self, result, **kwargs):
        self.log.append(('revert', self.name))


class _Fail(task.Task):

    #: units whose failing step stops failing (the cause was fixed)
    fixed = set()

    def execute(self):
        if self.name not in self.fixed:
            raise RuntimeError('unit %s fails' % self.name)


class UnitGraphCase(base.CloudTestCase):
    """Jobs of units made of recording steps."""

    def setUp(self):
        super().setUp()
        _Record.log = []
        _Fail.fixed = set()

        def factory(args, options):
            flow = linear_flow.Flow(args['name']).add(_Record(args['name']))
            if args.get('fail'):
                flow.add(_Fail(args['name'] + '-fail'))
            return flow
        self.useFixture(fixtures.MockPatchObject(
            flows, 'FACTORIES', dict(flows.FACTORIES, record=factory)))

    def run_units(self, units, policy='revert', follows=None):
        follows = follows or {}
        self.useFixture(fixtures.MockPatch(
            'geoflows.operations.build_units',
            lambda operation, plan, names, **kwargs: [
                {'name': name, 'flow': 'record',
                 'args': {'name': name, 'fail': fail}, 'after': after,
                 'follows': follows.get(name, []),
                 'locks': []} for name, after, fail in units]))
        self.useFixture(fixtures.MockPatch(
            'geoflows.operations.failure_policy', lambda operation: policy))
        return self.runner.start('interconnect.setup', base.make_plan())


class TestUnitGraph(UnitGraphCase):
    """Units run after the units they depend on; they revert before them."""

    def test_dependencies_order_the_units(self):
        job = self.run_units([('c', ['b'], False), ('b', ['a'], False),
                              ('a', [], False)])
        self.assertEqual(jobs.SUCCESS, job.state)
        self.assertEqual([('run', 'a'), ('run', 'b'), ('run', 'c')],
                         _Record.log)

    def test_revert_runs_dependents_first(self):
        job = self.run_units([('a', [], False), ('b', ['a'], False),
                              ('c', ['b'], True)])
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertIn('step c-fail failed: unit c-fail fails', job.error)
        self.assertEqual([('run', 'a'), ('run', 'b'), ('run', 'c'),
                          ('revert', 'c'), ('revert', 'b'), ('revert', 'a')],
                         _Record.log)

    def test_units_after_a_failure_do_not_start(self):
        job = self.run_units([('a', [], True), ('b', ['a'], False)])
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertNotIn(('run', 'b'), _Record.log)


class _Needs(task.Task):
    """A step whose input no step of its flow provides."""

    def execute(self, missing_input):
        pass


class TestFlowChecks(UnitGraphCase):
    """A flow whose steps lack an input is refused when the job is made."""

    def test_a_step_without_its_input_is_refused_at_creation(self):
        self.useFixture(fixtures.MockPatchObject(
            flows, 'FACTORIES', dict(flows.FACTORIES, broken=lambda args,
                                     options: linear_flow.Flow('b').add(
                                         _Needs('needs')))))
        self.useFixture(fixtures.MockPatch(
            'geoflows.operations.build_units',
            lambda operation, plan, names, **kwargs: [
                {'name': 'u1', 'flow': 'broken', 'args': {}, 'after': [],
                 'locks': []}]))
        e = self.assertRaises(exceptions.JobError, self.runner.start,
                              'interconnect.setup', base.make_plan())
        self.assertIn('the broken flow of unit u1 is incomplete', str(e))
        self.assertIn('missing_input', str(e))
        self.assertEqual([], self.runner.list())  # no job was recorded

    def test_the_units_engines_do_not_check_again(self):
        checks = []
        real = engines.ParallelEngine.validate

        def validate(engine):
            checks.append(engine.options.get('validated'))
            return real(engine)
        self.useFixture(fixtures.MockPatchObject(
            engines.ParallelEngine, 'validate', validate))
        job = self.run_units([('a', [], False), ('b', ['a'], False)])
        self.assertEqual(jobs.SUCCESS, job.state)
        self.assertEqual([True, True], checks)
        self.assertEqual([('run', 'a'), ('run', 'b')], _Record.log)


class TestIsolatedFailures(TestUnitGraph):
    """Takeovers: a failed unit is undone alone, the others go on."""

    UNITS = [('a', [], True), ('b', ['a'], False), ('c', ['b'], False),
             ('d', [], False), ('e', [], False)]

    def test_a_failed_unit_is_undone_alone_its_dependents_skipped(self):
        job = self.run_units(self.UNITS, policy='isolate',
                             follows={'e': ['a']})
        self.assertEqual(jobs.PARTIAL, job.state)
        log = _Record.log
        self.assertLess(log.index(('run', 'a')), log.index(('revert', 'a')))
        self.assertIn(('run', 'd'), log)
        # e follows a: it starts once a has ended, whatever its outcome.
        self.assertLess(log.index(('revert', 'a')), log.index(('run', 'e')))
        self.assertNotIn(('run', 'b'), log)
        self.assertNotIn(('run', 'c'), log)
        self.assertNotIn(('revert', 'd'), log)
        self.assertEqual(['a'], list(job.result['failed']))
        self.assertIn('unit a-fail fails', job.result['failed']['a'])
        self.assertEqual({'b': 'needs a, which failed',
                          'c': 'needs b, which was skipped'},
                         job.result['skipped'])
        self.assertIn('1 unit failed and was undone', job.error)
        self.assertIn('2 skipped', job.error)
        self.assertIn('geoflows job resume %s' % job.id, job.error)
        self.assertTrue(jobs.settled(job))

    def test_resume_runs_only_what_failed_or_was_skipped(self):
        job = self.run_units(self.UNITS, policy='isolate')
        _Record.log = []
        _Fail.fixed.add('a-fail')
        job = self.runner.resume(job.id)
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        self.assertEqual([('run', 'a'), ('run', 'b'), ('run', 'c')],
                         _Record.log)

    def test_revert_of_a_partial_job_undoes_what_succeeded(self):
        job = self.run_units(self.UNITS, policy='isolate')
        _Record.log = []
        job = self.runner.revert(job.id)
        self.assertEqual(jobs.REVERTED, job.state)
        self.assertEqual({('revert', 'd'), ('revert', 'e')},
                         set(_Record.log))

    def test_skipped_units_still_let_their_followers_run(self):
        job = self.run_units([('a', [], True), ('b', ['a'], False),
                              ('c', [], False)], policy='isolate',
                             follows={'c': ['b']})
        self.assertEqual(jobs.PARTIAL, job.state)
        self.assertIn(('run', 'c'), _Record.log)
        self.assertEqual({'b': 'needs a, which failed'},
                         job.result['skipped'])


class TestAtomNames(base.TestCase):

    def test_nested_flows_and_retries(self):
        flow = flows.build('interconnect.setup', base.make_plan(
        ).interconnect_spec(base.make_plan().interconnect('sec')),
            base.OPTIONS)
        names = runner.atom_names(flow)
        self.assertIn('local.connection.retry', names)
        self.assertIn('local.connection.active', names)
        self.assertEqual(len(names), len(set(names)))


class _NeedsJob(task.Task):

    def execute(self, job_id):
        return job_id


class TestInjection(base.UnitStoreTestCase):
    """The job's id given to a unit's steps, whatever a crash left."""

    def storage(self):
        """The unit's storage, as a resumed job loads it."""
        [detail] = self.backend.get_connection().get_logbook(self.book.uuid)
        flow = linear_flow.Flow('unit').add(_NeedsJob('step'))
        return engines.SerialEngine(flow, detail, self.backend, {}).storage

    def test_the_job_s_id_is_recorded_in_one_commit(self):
        storage = self.storage()
        self.assertFalse(runner._injected(storage, 'job_id'))
        before = self.store.commits

        runner._inject(storage, {'job_id': 'job-1'})

        # The holder and its value: no crash can leave one without the
        # other.
        self.assertEqual(1, self.store.commits - before)
        self.assertEqual('job-1', self.storage().fetch('job_id'))

    def test_a_holder_left_without_its_value_is_repaired(self):
        # As a crash between Taskflow's two writes of an injection left it.
        holder = models.TaskDetail(self.storage().injector_name,
                                   uuidutils.generate_uuid())
        self.detail.add(holder)
        self.backend.get_connection().update_flow_details(self.detail)
        storage = self.storage()

        self.assertFalse(runner._injected(storage, 'job_id'))
        runner._inject(storage, {'job_id': 'job-1'})

        self.assertEqual('job-1', self.storage().fetch('job_id'))
