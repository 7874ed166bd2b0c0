"""What running steps need from their process.

Taskflow tasks are rebuilt from a job's persisted spec and never hold
clients or database handles in what is persisted.  The runner that loads a
flow binds each of its tasks to the runner's context (site connections, the
state store, the secret resolver) before running it, so that several
runners can live in one process.  A task that was not bound (a test, a
script calling a task directly) uses the context installed with
:func:`install`.
"""

import inspect
import threading

_current = None
_lock = threading.Lock()


class Context(object):

    def __init__(self, clouds, store, secrets, call_caps=None):
        self.clouds = clouds
        self.store = store
        self.secrets = secrets
        self.slots = Slots()
        #: {service: how many calls at once per site} (see CappedProxy)
        self.call_caps = dict(call_caps or {})
        self._semaphores = {}
        self._semaphores_lock = threading.Lock()

    def capped(self, proxy, site_name, service):
        """``proxy``, its calls bounded by ``call_caps[service]`` per site.

        (A large takeover must not overload the DR site's Nova: at most so
        many boots, or any calls, at once.)
        """
        cap = self.call_caps.get(service)
        if not cap:
            return proxy
        key = (site_name, service)
        with self._semaphores_lock:
            semaphore = self._semaphores.get(key)
            if semaphore is None:
                semaphore = self._semaphores[key] = threading.Semaphore(cap)
        return CappedProxy(proxy, semaphore)


class CappedProxy(object):
    """An openstacksdk proxy whose calls hold a semaphore while they run.

    A call that returns a generator (openstacksdk's listings make their
    requests while they are read) is read whole inside it.
    """

    def __init__(self, proxy, semaphore):
        self._proxy = proxy
        self._semaphore = semaphore

    def __getattr__(self, name):
        attr = getattr(self._proxy, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            with self._semaphore:
                result = attr(*args, **kwargs)
                if inspect.isgenerator(result):
                    result = list(result)
                return result
        return call


class Slots(object):
    """Counted slots per key (e.g. data copies in flight per site).

    A holder takes ``count`` slots of ``key`` at once or none, up to
    ``limit`` in all; taking again what one holds is a no-op, and so is
    releasing what one does not hold, so that steps run again after a
    failure, a retry or a revert keep the counts right.  They count what
    this process runs (a job resumed elsewhere starts from zero there).
    """

    def __init__(self):
        self._held = {}  # key -> {holder: count}
        self._lock = threading.Lock()

    def acquire(self, key, holder, count, limit):
        """Take ``count`` slots (at most ``limit``); False if full."""
        count = max(1, min(count, limit))
        with self._lock:
            held = self._held.setdefault(key, {})
            if holder in held:
                return True
            if sum(held.values()) + count > limit:
                return False
            held[holder] = count
            return True

    def release(self, key, holder):
        with self._lock:
            self._held.get(key, {}).pop(holder, None)

    def used(self, key):
        with self._lock:
            return sum(self._held.get(key, {}).values())


def install(context):
    """Make ``context`` the one steps of this process use.

    Returns the previous one.
    """
    global _current
    with _lock:
        previous, _current = _current, context
    return previous


def current():
    if _current is None:
        raise RuntimeError('no geoflows context is installed: steps run '
                           'through geoflows.runner.Runner')
    return _current
