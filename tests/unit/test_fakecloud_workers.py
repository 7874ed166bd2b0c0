"""The fake site's API workers: a cap on calls served at once."""

import gc
import threading
import time

import fixtures

from geoflows import runtime
from geoflows.testing import fakecloud
from tests.unit import base


class TestWorkers(base.TestCase):

    def test_calls_within_the_cap_start_at_once(self):
        workers = fakecloud.Workers(2)

        self.assertEqual((10.0, 10.5), workers.reserve(10.0, 0.5))
        self.assertEqual((10.0, 10.5), workers.reserve(10.0, 0.5))

    def test_call_beyond_the_cap_starts_when_a_worker_is_done(self):
        workers = fakecloud.Workers(2)
        workers.reserve(10.0, 0.5)
        workers.reserve(10.2, 0.5)

        self.assertEqual((10.5, 11.0), workers.reserve(10.3, 0.5))
        self.assertEqual((10.7, 11.2), workers.reserve(10.3, 0.5))

    def test_worker_free_again_serves_a_late_call_at_once(self):
        workers = fakecloud.Workers(1)
        workers.reserve(10.0, 0.5)

        self.assertEqual((12.0, 12.5), workers.reserve(12.0, 0.5))

    def test_concurrent_calls_beyond_the_cap_wait_their_turn(self):
        clouds = fakecloud.FakeClouds(latency=0.05, max_concurrent_calls=1)
        site = clouds.site('bench')
        threads = [threading.Thread(target=site.network.bench_call,
                                    args=('vnf-%d' % i, 0))
                   for i in range(3)]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # One worker: the three calls were served one after the other.
        self.assertGreaterEqual(time.monotonic() - start, 0.15)
        self.assertEqual(3, site.calls['bench_call'])


class TestRuntime(base.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(gc.set_threshold, *gc.get_threshold())
        self.addCleanup(gc.unfreeze)
        self.useFixture(fixtures.MockPatchObject(runtime, '_tuned', False))

    def test_objects_of_start_up_are_frozen(self):
        runtime.tune_for_large_jobs()

        self.assertGreater(gc.get_freeze_count(), 0)

    def test_young_generation_is_collected_less_often(self):
        older = gc.get_threshold()[1:]

        runtime.tune_for_large_jobs()

        self.assertEqual((runtime.YOUNG_GENERATION_THRESHOLD,) + older,
                         gc.get_threshold())

    def test_second_call_changes_nothing(self):
        runtime.tune_for_large_jobs()
        gc.set_threshold(700, 10, 10)

        runtime.tune_for_large_jobs()

        self.assertEqual((700, 10, 10), gc.get_threshold())
