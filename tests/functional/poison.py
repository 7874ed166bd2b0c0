"""``geoflows`` with one more flow, ``test.poison``, for the tests.

Its only step kills the process that runs it, as a crashing driver or a
memory blow-up would: a job no conductor survives.  Run as
``python -m tests.functional.poison conductor ...`` (from the repository);
the tests import it to record such jobs.
"""

import os
import signal
import sys

from taskflow.patterns import linear_flow
from taskflow import task

from geoflows.cmd import main
from geoflows import flows

POISON = 'test.poison'


class Crash(task.Task):

    def execute(self):
        os.kill(os.getpid(), signal.SIGKILL)


def poison(spec, options):
    return linear_flow.Flow('poison').add(Crash('crash'))


flows.FACTORIES[POISON] = poison
flows.ENGINES[POISON] = 'serial'


def unit():
    return {'name': 'poison', 'flow': POISON, 'args': {}, 'after': [],
            'locks': []}


if __name__ == '__main__':
    sys.exit(main.main(sys.argv[1:]))
