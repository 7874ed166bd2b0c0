"""geoflows drill | drill cleanup | drill list"""

import argparse
import re

from geoflows.cmd import common
from geoflows.cmd import takeover as takeover_cmd

_ID = re.compile(r'^[0-9a-f-]{4,36}$')
#: the longest --keep-for geoflows takes, whatever the configuration says
_MAX_KEEP_SECONDS = 30 * 86400


def keep_seconds(text):
    """--keep-for's value: seconds (or 30m, 2h, 1d)."""
    match = re.match(r'^(\d{1,7})([smhd]?)$', text.strip()) \
        if len(text) <= 16 else None
    if match is None:
        raise argparse.ArgumentTypeError(
            '%r is not a duration: give seconds, or a number with s, m, h '
            'or d (30m, 2h, 1d)' % text[:20])
    value = int(match.group(1)) * {'': 1, 's': 1, 'm': 60, 'h': 3600,
                                   'd': 86400}[match.group(2)]
    if not 0 < value <= _MAX_KEEP_SECONDS:
        raise argparse.ArgumentTypeError(
            '%r is not a keep time from 1 second to 30 days' % text[:20])
    return value


def drill_id(text):
    """A drill's job id, or a unique prefix of it."""
    if not _ID.fullmatch(text or ''):  # (match's $ allows a newline)
        raise argparse.ArgumentTypeError(
            '%r is not a drill id ("geoflows drill list" shows them)'
            % (text or '')[:40])
    return text


class Drill(common.PlanJobCommand):
    """Rehearse a takeover in an isolated copy at the DR site.

    From each group's newest checkpoint: its own networks (the same
    CIDRs, no external gateway, in no interconnect), fresh servers on ports
    with the same IPs and MACs, volumes restored from the copies, chains
    rebuilt; then the copy verified against the checkpoint, the RTO of
    each VNF measured (its post_takeover hooks are told it is a drill),
    and the copy removed.  The primary, the DR site's standbys and the
    interconnect are not changed.  With --keep, the copy stays for a look
    ("geoflows drill cleanup ID" removes it; the conductors do once its
    time is up).  Exits 0 when the drill succeeded.
    """

    operation = 'drill'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        takeover_cmd.group_job_arguments(parser)
        parser.add_argument('--keep', action='store_true',
                            help='keep the copy after the drill (for at '
                                 'most [protection] drill_max_keep seconds)')
        parser.add_argument('--keep-for', type=keep_seconds,
                            metavar='DURATION',
                            help='keep the copy this long (seconds, or 30m, '
                                 '2h, 1d), at most [protection] '
                                 'drill_max_keep')
        return parser

    def create_arguments(self, parsed_args):
        from geoflows import drill
        limit = self.app.runner.options.get('drill_max_keep') or \
            drill.DEFAULT_MAX_KEEP
        keep_for = parsed_args.keep_for
        if parsed_args.keep and keep_for is None:
            keep_for = limit
        return {'params': drill.drill_params(keep_for, limit)}


class DrillCleanup(common.ShowOne):
    """Remove what is left of a drill's isolated copy.

    Everything carrying the drill's mark at the DR site: chains, servers,
    ports, volumes, routers, networks.  Killed, it is finished by "geoflows
    job resume" of its job (or by running this again).  Exits 0 once
    nothing of the copy is left.
    """

    exit_code = 0

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('drill', metavar='ID', type=drill_id,
                            help='the drill\'s job id (or a unique prefix)')
        common.add_progress_arguments(parser)
        return parser

    def run(self, parsed_args):
        rc = super().run(parsed_args)
        return self.exit_code or rc

    def take_action(self, parsed_args):
        import sys

        from geoflows import drill
        from geoflows import jobs
        runner = self.app.runner
        job_id = drill.cleanup_job(runner, parsed_args.drill)
        sys.stderr.write('job %s: cleanup of drill %s\n' % (
            job_id, parsed_args.drill))
        sys.stderr.flush()
        job = runner.get(job_id)
        callback = common.progress_callback(parsed_args)
        job = common.run_interruptible(
            runner, job_id, lambda: runner.run(job_id, on_event=callback)
            if job.state == jobs.PENDING else
            runner.resume(job_id, on_event=callback))
        self.exit_code = 0 if job.state == jobs.SUCCESS else 1
        return common.job_data(job)


class DrillList(common.Lister):
    """The drills' isolated copies still present, with their age."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--plan-name', metavar='NAME',
                            help='only the copies of this plan')
        parser.add_argument('--all', action='store_true',
                            help='also the copies removed')
        return parser

    def take_action(self, parsed_args):
        from geoflows.checkpoints import drills
        from geoflows import drill_units
        store = self.app.runner.store
        copies = drills.listing(store, parsed_args.plan_name,
                                present=not parsed_args.all)
        rows = []
        for copy in copies:
            report = copy.report or {}
            verdict = report.get('verify') or {}
            rows.append((copy.drill_id, copy.plan_name, copy.group_name,
                         copy.site, copy.state, _age(copy.age()),
                         drill_units.expiry(copy) or '-',
                         '-' if not report else
                         'clean' if verdict.get('clean') else 'differences'))
        return (('Drill', 'Plan', 'Group', 'Site', 'State', 'Age',
                 'Kept until', 'Verify'), rows)


def _age(seconds):
    seconds = int(seconds)
    if seconds < 120:
        return '%ds' % seconds
    if seconds < 7200:
        return '%dm' % (seconds // 60)
    if seconds < 172800:
        return '%dh%02dm' % (seconds // 3600, seconds % 3600 // 60)
    return '%dd%02dh' % (seconds // 86400, seconds % 86400 // 3600)
