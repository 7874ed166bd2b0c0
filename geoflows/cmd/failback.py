"""geoflows reprotect | failback"""

import sys

from geoflows.cmd import common
from geoflows.cmd import takeover as takeover_cmd


def drain_seconds(text):
    """--drain-time's value: seconds, 0 to an hour."""
    import argparse
    from geoflows import failback
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= failback.MAX_DRAIN_TIME:
        raise argparse.ArgumentTypeError(
            '%r is not a drain time: give seconds from 0 to %d' % (
                text[:40], failback.MAX_DRAIN_TIME))
    return value


class _GroupJob(common.PlanJobCommand):
    """A job on protection groups, then a sync (unless --no-sync)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        takeover_cmd.group_job_arguments(parser)
        parser.add_argument('--no-sync', dest='sync', action='store_false',
                            help=self.no_sync_help)
        return parser

    def create_arguments(self, parsed_args):
        return {'params': self.params}

    def wants_sync(self, parsed_args):
        return parsed_args.sync

    def take_action(self, parsed_args):
        from geoflows import plan as plan_mod
        plan = plan_mod.load(parsed_args.plan)
        self.params = self.prepare(plan, parsed_args)
        job = self.start(parsed_args)
        names, values = common.job_data(job)
        if job.state == 'SUCCESS' and self.wants_sync(parsed_args) and \
                not common.wants_submit(parsed_args):
            runner = self.app.runner
            sync_id = runner.create('sync', plan, parsed_args.names)
            sys.stderr.write('job %s: sync of plan %r (%s)\n' % (
                sync_id, plan.name, self.sync_why))
            sync = common.run_interruptible(
                runner, sync_id, lambda: runner.run(
                    sync_id, on_event=common.progress_callback(
                        parsed_args)))
            if sync.state != 'SUCCESS':
                self.exit_code = 1
            names += ('sync',)
            values += ('%s %s%s' % (sync.id, sync.display_state, (
                ': %s' % sync.error) if sync.error else ''),)
        return names, values


class Reprotect(_GroupJob):
    """Replicate protection groups back from the DR site serving them.

    After a takeover, the DR site serves the group: its checkpoints and
    data copies now flow to the group's primary (or the site --to names,
    when the primary is gone for good), on the group's schedule ("geoflows
    protection status" shows which way it replicates).  Then a first sync
    in that direction runs, unless --no-sync.  Exits 0 when both
    succeeded.
    """

    operation = 'reprotect'
    no_sync_help = 'do not run the first reverse sync now (the conductors ' \
                   'run it, due at once)'
    sync_why = 'the first from the DR site'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--to', metavar='SITE', dest='to_site',
                            help='the site the groups go back to (default: '
                                 'their primary)')
        return parser

    def prepare(self, plan, parsed_args):
        from geoflows import failback
        return failback.reprotect_params(plan, parsed_args.to_site)


class Failback(_GroupJob):
    """Give reprotected groups back to their origin, service unbroken.

    A final sync from the DR site, the old VNFs at the origin replaced by
    fresh ones (same IPs and MACs, data restored), the origin's chains
    rebuilt and the origin checked; then, at the DR site, each VNF drained
    (its drain hooks, or --drain-time seconds) before its chains go, the
    DR networks out of the interconnect, the origin serving and
    replicating forward; the DR VNFs back to standby (cold ones deleted,
    warm and hot ones left running, de-linked).  Then a first forward
    sync, unless --no-sync.  Refused, with nothing changed, while the
    origin does not answer, its old VNFs still run, or the newest reverse
    checkpoint is older than the group's RPO.  --stage origin stops once
    the origin is checked (the DR site untouched); --stage delink then
    does the rest.  Until the origin serves, "geoflows job revert" brings
    back the DR-serving state, chains included.
    """

    operation = 'failback'
    no_sync_help = 'do not run the first forward sync now (the conductors ' \
                   'run it, due at once)'
    sync_why = 'the first from the origin again'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--stage', choices=('all', 'origin', 'delink'),
                            default='all',
                            help='origin: build and check the origin, stop '
                                 'there; delink: then give it the service; '
                                 'all (default): both')
        parser.add_argument('--drain-time', type=drain_seconds,
                            metavar='SECONDS',
                            help='seconds each DR VNF drains before it '
                                 'leaves its chains (with drain hooks: how '
                                 'long they are asked; default: '
                                 '[protection] drain_time)')
        return parser

    def wants_sync(self, parsed_args):
        return parsed_args.sync and parsed_args.stage != 'origin'

    def prepare(self, plan, parsed_args):
        from geoflows import failback
        return failback.failback_params(parsed_args.stage,
                                        parsed_args.drain_time)
