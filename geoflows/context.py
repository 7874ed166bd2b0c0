"""What running steps need from their process.

Taskflow tasks are rebuilt from a job's persisted spec and never hold
clients or database handles in what is persisted.  The runner that loads a
flow binds each of its tasks to the runner's context (site connections, the
state store, the secret resolver) before running it, so that several
runners can live in one process.  A task that was not bound (a test, a
script calling a task directly) uses the context installed with
:func:`install`.
"""

import threading

_current = None
_lock = threading.Lock()


class Context(object):

    def __init__(self, clouds, store, secrets):
        self.clouds = clouds
        self.store = store
        self.secrets = secrets


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
