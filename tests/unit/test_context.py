"""What steps share in a process: counted slots, capped calls."""

import threading
import time

from geoflows import context
from tests.unit import base


class _Api(object):
    """A service whose calls take a while; counts those at once."""

    def __init__(self):
        self.now = 0
        self.peak = 0
        self.lock = threading.Lock()

    def boot(self, value):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(0.02)
        with self.lock:
            self.now -= 1
        return value

    def servers(self):
        yield from self.boot([1, 2])

    region = 'paris'


class TestCappedCalls(base.TestCase):

    def calls(self, proxy, n=24):
        threads = [threading.Thread(target=proxy.boot, args=(i,))
                   for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def test_calls_to_a_service_of_a_site_are_capped(self):
        ctx = context.Context(None, None, None, call_caps={'compute': 3})
        api = _Api()
        self.calls(ctx.capped(api, 'paris', 'compute'))
        self.assertEqual(3, api.peak)

    def test_each_site_and_service_has_its_own_cap(self):
        ctx = context.Context(None, None, None, call_caps={'compute': 2})
        api = _Api()
        threads = [threading.Thread(target=self.calls, args=(
            ctx.capped(api, site, 'compute'), 8)) for site in ('a', 'b')]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(4, api.peak)

    def test_an_uncapped_service_is_the_proxy_itself(self):
        ctx = context.Context(None, None, None, call_caps={'compute': 2})
        api = _Api()
        self.assertIs(api, ctx.capped(api, 'paris', 'network'))

    def test_listings_are_read_inside_the_cap(self):
        ctx = context.Context(None, None, None, call_caps={'compute': 1})
        proxy = ctx.capped(_Api(), 'paris', 'compute')
        self.assertEqual([1, 2], proxy.servers())
        self.assertEqual('paris', proxy.region)


class TestSlots(base.TestCase):

    def test_all_or_nothing_and_idempotent(self):
        slots = context.Slots()
        self.assertTrue(slots.acquire('k', 'a', 3, 4))
        self.assertTrue(slots.acquire('k', 'a', 3, 4))  # held already
        self.assertFalse(slots.acquire('k', 'b', 2, 4))
        self.assertTrue(slots.acquire('k', 'c', 1, 4))
        self.assertEqual(4, slots.used('k'))
        slots.release('k', 'a')
        slots.release('k', 'a')
        self.assertEqual(1, slots.used('k'))
        # More than the limit takes the limit, once alone.
        self.assertFalse(slots.acquire('k', 'd', 9, 4))
        slots.release('k', 'c')
        self.assertTrue(slots.acquire('k', 'd', 9, 4))
        self.assertEqual(4, slots.used('k'))
