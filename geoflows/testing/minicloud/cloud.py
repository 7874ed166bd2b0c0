"""The minicloud: two disposable OpenStack regions on 127.0.0.1.

See regions.py for what runs and stack.py for how it starts and stops;
this module places it (its home: venvs, data, logs, clouds.yaml).
"""

import os

from geoflows.testing.minicloud import stack


def default_home():
    base = os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache')
    return os.path.join(base, 'geoflows', 'minicloud')


class Minicloud(stack.Stack):

    def __init__(self, home=None):
        super().__init__(os.path.abspath(
            home or os.environ.get('GEOFLOWS_MINICLOUD_HOME')
            or default_home()))
