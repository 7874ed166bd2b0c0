"""Scheduled syncs: one per interval across schedulers, never a burst."""

import datetime

from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import locks
from geoflows import schedule
from tests.unit import base

T0 = datetime.datetime(2026, 12, 1, 10, 0, 0)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


class FakeRunner(object):
    """What a Scheduler needs of a runner: the store and create()."""

    def __init__(self, store, fail=None):
        self.store = store
        self.locks = locks.for_store(store)
        self.created = []
        self.fail = fail
        #: called once by the next create(), before the job is recorded
        self.meanwhile = None

    def create(self, operation, plan, names, job_id=None):
        if self.fail:
            from geoflows import exceptions
            raise exceptions.GeoflowsError(self.fail)
        if self.meanwhile:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        self.store.create_job(job_id, operation, plan.name, plan.digest,
                              {'units': [{'name': names[0]}]}, 'PENDING')
        self.created.append((operation, plan.name, tuple(names), job_id))
        return job_id

    def get(self, job_id):
        return self.store.get_job(job_id)


class TestSchedule(base.TestCase):

    def setUp(self):
        super().setUp()
        from geoflows import store as store_mod
        self.store = store_mod.StateStore('sqlite:///%s/s.sqlite' % self.tmp)
        self.addCleanup(self.store.close)
        self.plan = base.make_plan(base.plan_data(protection_groups=[{
            'name': 'core', 'primary': 'paris', 'dr': 'lyon', 'rpo': 600,
            'rto': 600, 'sync_interval': 60,
            'vnfs': [{'name': 'hss', 'priority': 1, 'standby': 'cold',
                      'servers': ['hss-1']}]}]))
        groups.mark_protected(self.store, 'test', 'core', 'paris', 'lyon',
                              self.plan.document, self.plan.digest, 60,
                              T0)

    def scheduler(self, runner):
        posted = []
        return schedule.Scheduler(runner, posted.append), posted

    def finish(self, runner):
        for _op, _plan, _names, job_id in runner.created:
            self.store.update_job(job_id, state='SUCCESS')

    def test_one_sync_per_interval_across_schedulers(self):
        runner = FakeRunner(self.store)
        first, posted_1 = self.scheduler(runner)
        second, posted_2 = self.scheduler(runner)
        for tick in range(0, 300, 10):  # both look every 10 s for 5 min
            first.tick(at(tick))
            second.tick(at(tick + 1))
            self.finish(runner)
        # Due at 0, 60, 120, 180, 240: five syncs, each once.
        self.assertEqual(5, len(runner.created))
        self.assertEqual(5, len(posted_1) + len(posted_2))
        ids = [c[3] for c in runner.created]
        self.assertEqual(len(set(ids)), len(ids))
        self.assertEqual(schedule.sync_job_id('test', 'core', T0), ids[0])
        self.assertEqual(('sync', 'test', ('core',)), runner.created[0][:3])

    def test_a_sync_being_started_is_not_started_twice(self):
        # The sites are read before the job is recorded (seconds on real
        # sites); another scheduler looking then, once the next due time
        # passed, must not start another sync.
        runner = FakeRunner(self.store)
        first, _posted = self.scheduler(runner)
        second, _posted = self.scheduler(runner)
        runner.meanwhile = lambda: second.tick(at(61))
        first.tick(at(59))
        self.assertEqual([schedule.sync_job_id('test', 'core', T0)],
                         [c[3] for c in runner.created])
        self.finish(runner)
        second.tick(at(65))
        self.assertEqual(schedule.sync_job_id('test', 'core', at(60)),
                         runner.created[1][3])

    def test_a_late_scheduler_does_not_catch_up_with_a_burst(self):
        runner = FakeRunner(self.store)
        scheduler, _posted = self.scheduler(runner)
        scheduler.tick(at(1000))
        self.assertEqual(1, len(runner.created))
        self.assertEqual(at(1020), groups.get(self.store, 'test',
                                              'core').next_sync_at)
        self.finish(runner)
        scheduler.tick(at(1010))
        self.assertEqual(1, len(runner.created))

    def test_a_sync_still_running_delays_the_next(self):
        runner = FakeRunner(self.store)
        first, _posted = self.scheduler(runner)
        second, _posted = self.scheduler(runner)
        first.tick(at(0))
        with self.assertLogs('geoflows.schedule', 'WARNING') as logs:
            for tick in (60, 65, 70):  # the first sync is still PENDING
                first.tick(at(tick))
                second.tick(at(tick + 1))
        self.assertEqual(1, len(runner.created))
        # Each scheduler says it once.
        self.assertEqual(2, len(logs.output), logs.output)
        self.assertIn('due at 2026-12-01T10:01:00.000Z waits for sync job %s'
                      % runner.created[0][3], logs.output[0])
        self.assertEqual(at(60), groups.get(self.store, 'test',
                                            'core').next_sync_at)
        # It ends: the delayed sync starts at once, with its slot's id, and
        # the cadence stays.
        self.finish(runner)
        second.tick(at(75))
        first.tick(at(76))
        self.assertEqual(2, len(runner.created))
        self.assertEqual(schedule.sync_job_id('test', 'core', at(60)),
                         runner.created[1][3])
        self.assertEqual(at(120), groups.get(self.store, 'test',
                                             'core').next_sync_at)
        self.finish(runner)
        first.tick(at(120))
        self.assertEqual(3, len(runner.created))

    def test_a_sync_past_several_due_times_is_followed_by_one(self):
        runner = FakeRunner(self.store)
        scheduler, _posted = self.scheduler(runner)
        scheduler.tick(at(0))
        for tick in (60, 120, 150):
            scheduler.tick(at(tick))
        self.assertEqual(1, len(runner.created))
        self.finish(runner)
        scheduler.tick(at(155))
        scheduler.tick(at(160))
        # One sync, the one due at 120, and the next at 180.
        self.assertEqual(2, len(runner.created))
        self.assertEqual(schedule.sync_job_id('test', 'core', at(120)),
                         runner.created[1][3])
        self.assertEqual(at(180), groups.get(self.store, 'test',
                                             'core').next_sync_at)

    def test_a_sync_that_cannot_start_is_the_last_error(self):
        runner = FakeRunner(self.store, fail='site paris: cannot reach it')
        scheduler, posted = self.scheduler(runner)
        self.assertEqual([], scheduler.tick(at(0)))
        self.assertEqual([], posted)
        state = groups.get(self.store, 'test', 'core')
        self.assertIn('cannot reach it', state.last_sync_error)
        self.assertEqual(at(60), state.next_sync_at)

    def test_unprotected_groups_are_not_synced(self):
        groups.forget(self.store, 'test', 'core')
        runner = FakeRunner(self.store)
        scheduler, _posted = self.scheduler(runner)
        scheduler.tick(at(0))
        self.assertEqual([], runner.created)

    def test_latest_due(self):
        self.assertEqual(T0, schedule.latest_due(T0, 60, at(0)))
        self.assertEqual(T0, schedule.latest_due(T0, 60, at(59)))
        self.assertEqual(at(60), schedule.latest_due(T0, 60, at(60)))
        self.assertEqual(at(120), schedule.latest_due(T0, 60, at(150)))

    def test_following(self):
        self.assertEqual(at(60), schedule.following(T0, 60, at(30)))
        self.assertEqual(at(180), schedule.following(T0, 60, at(150)))
        self.assertEqual(at(180), schedule.following(T0, 60, at(120)))
        self.assertEqual(checkpoints.isoformat(T0), '2026-12-01T10:00:00.000Z')
