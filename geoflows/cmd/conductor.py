"""geoflows conductor: claim jobs from the jobboard and run them."""

import logging
import os
import signal
import sys

from geoflows.cmd import common

LOG = logging.getLogger(__name__)


class RunConductor(common.Command):
    """Claim jobs from the jobboard and run them, until stopped.

    Run one on each controller, all with the same [jobboard] and [state]
    connection (PostgreSQL or MySQL).  SIGTERM or Ctrl-C stops claiming and
    hands the running jobs over: each stops after its current steps and
    another conductor resumes it.  A second signal quits at once (the jobs'
    claims then lapse after [jobboard] claim_expiry).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--name', help='name of this conductor (default: '
                                           '[conductor] name, or host name '
                                           'and process id)')
        return parser

    def take_action(self, parsed_args):
        from geoflows import conductor as conductor_mod
        from geoflows import conf
        from geoflows import jobboard
        from geoflows import runner as runner_mod
        from geoflows import runtime
        from geoflows import store as store_mod

        # A service: its log is the record of what it did.
        if self.app.options.verbose_level < 2:
            for handler in logging.getLogger('').handlers:
                if isinstance(handler, logging.StreamHandler) and \
                        not isinstance(handler, logging.FileHandler):
                    handler.setLevel(logging.INFO)
        CONF = conf.CONF
        name = conductor_mod.name_from_config(CONF, parsed_args.name)
        runner = runner_mod.Runner.from_config(CONF, owner=name)
        self.app.adopt_runner(runner)
        if runner.store.dialect == 'sqlite':
            LOG.warning('conductor %s: the state store is a SQLite file (%s):'
                        ' only conductors on this host can share it; set '
                        '[state] connection to PostgreSQL or MySQL for '
                        'several controllers', name,
                        store_mod.safe_url(runner.store.url))
        conductor = conductor_mod.from_config(CONF, name=name, runner=runner)
        jobboard.connect(conductor.board, CONF.jobboard)
        LOG.info('conductor %s: %s; state store %s', name,
                 jobboard.describe(CONF.jobboard),
                 store_mod.safe_url(runner.store.url))
        runtime.tune_for_large_jobs()
        stops = []

        def on_signal(signum, frame):
            if stops:
                sys.stderr.write('conductor %s: quitting now; its jobs are '
                                 'taken over when their claims lapse\n'
                                 % name)
                sys.stderr.flush()
                os._exit(1)
            stops.append(signum)
            LOG.info('conductor %s: %s received; stopping (again to quit '
                     'at once)', name, signal.Signals(signum).name)
            conductor.stop(handover=True)

        previous = {sig: signal.signal(sig, on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            conductor.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            conductor.close()
