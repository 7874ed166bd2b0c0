"""What running steps need from their process.

Taskflow tasks are rebuilt from a job's persisted spec and must not carry
clients or database handles (they are not JSON, and a resumed job runs in
another process).  They reach them at execute time through the context that
the runner installs: site connections, the state store and the secret
resolver.  Tests install a context with a fake cloud.
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
    """Make ``context`` the one steps of this process use; return the
    previous one."""
    global _current
    with _lock:
        previous, _current = _current, context
    return previous


def current():
    if _current is None:
        raise RuntimeError('no geoflows context is installed: steps run '
                           'through geoflows.runner.Runner')
    return _current
