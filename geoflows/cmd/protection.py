"""geoflows protect | sync | protection status | checkpoint list|show|diff"""

import sys

from geoflows.cmd import common
from geoflows import exceptions


def interval(text):
    """--every's value: seconds, or a duration such as 30s, 5m, 1h."""
    from geoflows.plan import protection
    text = text.strip()
    try:
        value = int(text) if text.isdigit() and len(text) < 10 else \
            protection.seconds(text[:40])
    except ValueError:
        value = None
    if not isinstance(value, int) or value < 1 or value > 7 * 86400:
        import argparse
        raise argparse.ArgumentTypeError(
            '%r is not an interval: give seconds (30) or a duration (30s, '
            '5m, 1h), from 1 s to 7 days' % text[:40])
    return value


def positive(text):
    import argparse
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10 ** 6:
        raise argparse.ArgumentTypeError('%r is not a count from 1 to '
                                         '1000000' % text[:40])
    return value


class Protect(common.PlanJobCommand):
    """Prepare the DR site of protection groups.

    At the DR site: networks and subnets (same CIDRs), routers, security
    groups and rules, keypairs, flavors, server groups, the VNFs' images;
    standby servers running for hot and warm VNFs, nothing for cold ones.
    Running it again creates nothing twice; "geoflows job revert ID"
    removes what it made.  Exits 0 on success, 1 if the job failed.
    """

    operation = 'protect'
    items_help = 'protection groups of the plan (default: all)'

    keeps_on_failure = True


class Sync(common.PlanJobCommand):
    """Take a checkpoint of protection groups: metadata, hooks, data.

    The VNFs' metadata at the primary, their consistency hooks, their data
    copies at the DR site, drift applied there, older checkpoints pruned.
    With --every, syncs here in the foreground until interrupted (or
    --count syncs); with conductors, they sync each group on its
    sync_interval without this.  Exits 0 if the (last) sync succeeded.
    """

    operation = 'sync'
    items_help = 'protection groups of the plan (default: all)'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--every', type=interval, metavar='INTERVAL',
                            help='sync again every INTERVAL (30, 30s, 5m, '
                                 '1h), in the foreground, here')
        parser.add_argument('--count', type=positive, metavar='N',
                            help='with --every: stop after N syncs')
        return parser

    def take_action(self, parsed_args):
        if parsed_args.count and not parsed_args.every:
            raise exceptions.GeoflowsError('--count goes with --every')
        if not parsed_args.every:
            return common.job_data(self.start(parsed_args))
        if common.wants_submit(parsed_args):
            raise exceptions.GeoflowsError(
                '--every syncs here; with conductors, they sync each group '
                'on its sync_interval (drop --every, or use --no-submit)')
        from geoflows import plan as plan_mod
        from geoflows import protection
        plan = plan_mod.load(parsed_args.plan)
        runner = self.app.runner
        show = common.progress_callback(parsed_args)

        def report(line):
            sys.stderr.write(line + '\n')
            sys.stderr.flush()

        try:
            last = protection.sync_every(
                runner, plan, parsed_args.names, parsed_args.every,
                parsed_args.count, on_event=show, report=report)
        except KeyboardInterrupt:
            # A sync cut short is a job like any other: resumable.
            report('interrupted; "geoflows job list --state RUNNING" shows '
                   'a sync that was cut short (geoflows job resume|revert '
                   'ID)')
            self.exit_code = 130
            return (), ()
        if last is None:
            raise exceptions.JobError('no sync could start (see above)')
        self.exit_code = 0 if last.state == 'SUCCESS' else 1
        return common.job_data(last)


STATUS_COLUMNS = ('Group', 'VNF', 'Standby', 'Checkpoint', 'Consistent at',
                  'RPO (s)', 'Target (s)', 'State', 'Standby state',
                  'Last sync error', 'Serving site', 'Fence', 'Replicates',
                  'RTO target (s)', 'Predicted RTO (s)', 'Predicted RTO met',
                  'Drill RTO (s)', 'Drilled at', 'Rehearsal')


def _yes_no(value):
    return '-' if value is None else 'yes' if value else 'no'


class ProtectionStatus(common.Lister):
    """The achieved RPO of every protected VNF, against its target.

    Per group and VNF: the newest consistent checkpoint, its age (the
    achieved RPO), the target, a state (OK, AT RISK, VIOLATED), the
    standby's state at the DR site and the last sync's error; after a
    takeover, the site serving the group and whether its primary was
    fenced ("not fenced": see "geoflows protection fence"); which way the
    group replicates (from its DR site back to its origin after "geoflows
    reprotect", forward again after "geoflows failback").  Then the RTO:
    the group's target, what a disaster takeover from the newest
    checkpoint is predicted to take and whether that meets the target,
    the RTO the group's last drill measured and when it ran, and whether
    the group was rehearsed as the plan has it now ("not rehearsed since
    DATE" when its VNFs changed since that drill, "never rehearsed").
    Exits 1 when any RPO is violated.
    """

    exit_code = 0

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--plan', required=True, metavar='PLAN',
                            help='plan file (YAML)')
        parser.add_argument('names', metavar='GROUP', nargs='*',
                            help='protection groups (default: all)')
        parser.add_argument('--no-dr-site', dest='ask_dr_site',
                            action='store_false',
                            help='do not read the standbys\' state at the '
                                 'DR sites (only the state store)')
        return parser

    def run(self, parsed_args):
        rc = super().run(parsed_args)
        return self.exit_code or rc

    def take_action(self, parsed_args):
        from geoflows import plan as plan_mod
        from geoflows import protection
        from geoflows import protection_status
        plan = plan_mod.load(parsed_args.plan)
        rows = protection.status(self.app.runner, plan, parsed_args.names,
                                 ask_dr_site=parsed_args.ask_dr_site)
        if protection_status.violated(rows):
            self.exit_code = 1
        from geoflows.checkpoints import groups
        unfenced = sorted({r.group for r in rows
                           if r.fence == groups.NOT_FENCED})
        for name in unfenced:
            sys.stderr.write(
                'group %s is not fenced: its VNFs may still run at its '
                'primary; protect and sync refuse it until "geoflows '
                'protection fence --plan %s %s" (the primary answers) or '
                '"... --confirm-fenced" (fenced by hand)\n' % (
                    name, parsed_args.plan, name))
        stale = {}
        for r in rows:
            if r.rehearsal and r.rehearsal.startswith('not rehearsed'):
                stale.setdefault(r.group, r.rehearsal)
        for name, why in sorted(stale.items()):
            sys.stderr.write(
                'group %s: %s, its VNFs changed since that drill: rehearse '
                'it again ("geoflows drill --plan %s %s")\n' % (
                    name, why, parsed_args.plan, name))
        return STATUS_COLUMNS, [
            (r.group, r.vnf, r.standby, r.checkpoint, r.consistent_at,
             r.rpo, r.rpo_target, r.state, r.standby_state,
             r.last_sync_error, r.serving_site, r.fence or '-',
             r.replicates, r.rto_target, r.predicted_rto,
             _yes_no(r.predicted_rto_met), r.drill_rto, r.drill_at or '-',
             r.rehearsal)
            for r in rows]


def _plan_name(parsed_args):
    if parsed_args.plan and parsed_args.plan_name:
        raise exceptions.GeoflowsError('give --plan or --plan-name, not '
                                       'both')
    if parsed_args.plan:
        from geoflows import plan as plan_mod
        return plan_mod.load(parsed_args.plan).name
    return parsed_args.plan_name


class ListCheckpoints(common.Lister):
    """List checkpoints, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--plan', metavar='PLAN',
                            help='only of this plan (file)')
        parser.add_argument('--plan-name', metavar='NAME',
                            help='only of the plan of this name')
        parser.add_argument('--group', metavar='GROUP',
                            help='only of this protection group')
        parser.add_argument('--all', dest='everything', action='store_true',
                            help='also open (being taken), expired and '
                                 'pruned checkpoints')
        parser.add_argument('--limit', type=int, default=50,
                            help='at most this many (default 50; 0 for '
                                 'all)')
        return parser

    def take_action(self, parsed_args):
        from geoflows import checkpoints
        from geoflows import protection
        found = protection.checkpoints(
            self.app.runner, _plan_name(parsed_args), parsed_args.group,
            limit=max(parsed_args.limit, 0) or None,
            everything=parsed_args.everything)
        rows = [(c.id, c.plan_name, c.group_name, c.state,
                 checkpoints.isoformat(c.consistent_at),
                 round(c.age(), 1) if c.consistent_at else None,
                 c.source_site, c.target_site, len(c.vnfs)) for c in found]
        # From: the site read (the DR site, for a group replicating back).
        return (('ID', 'Plan', 'Group', 'State', 'Consistent at', 'Age (s)',
                 'From', 'At', 'VNFs'), rows)


def _add_check_argument(parser):
    parser.add_argument('--no-check', dest='check', action='store_false',
                        help='do not read the DR site for what a takeover '
                             'from the checkpoint would lack')


class ShowCheckpoint(common.ShowOne):
    """Show a checkpoint: its VNFs, data copies, and takeover warnings.

    The warnings are what a takeover from it would lack at the DR site
    today (a flavor, an image, a network, quota); --no-check skips them.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('checkpoint_id', metavar='ID',
                            help='checkpoint id (or a unique prefix)')
        _add_check_argument(parser)
        return parser

    def take_action(self, parsed_args):
        from geoflows import checkpoints
        from geoflows.checkpoints import diff
        from geoflows import protection
        runner = self.app.runner
        cp = protection.checkpoint(runner, parsed_args.checkpoint_id)
        data = cp.to_dict()
        data['age'] = round(cp.age(), 1) if cp.consistent_at else None
        data['vnfs'] = '\n'.join(
            '%s (priority %s, %s): %s' % (
                name, part.get('priority'), part.get('standby'),
                ', '.join(s['name'] for s in part['servers']))
            for name, part in sorted(cp.vnfs.items()))
        data['copies'] = '\n'.join(diff.copy_lines(cp))
        data['consistent_at'] = checkpoints.isoformat(cp.consistent_at)
        if parsed_args.check:
            data['takeover_warnings'] = '\n'.join(
                protection.readiness(runner, cp)) or 'none'
        names = tuple(data)
        return names, tuple(data[n] for n in names)


class DiffCheckpoints(common.Command):
    """What changed at the primary between two checkpoints of a group.

    With one id: between that checkpoint and the one before it.  Lines:
    "+" added, "-" removed, "~" changed; then what each data copy of the
    newer one is, and what a takeover from it would lack at the DR site
    (--no-check skips that).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('ids', metavar='ID', nargs='+',
                            help='OLD NEW, or NEW alone (ids or unique '
                                 'prefixes)')
        _add_check_argument(parser)
        return parser

    def take_action(self, parsed_args):
        from geoflows.checkpoints import diff
        from geoflows import protection
        if len(parsed_args.ids) > 2:
            raise exceptions.GeoflowsError('give two checkpoints (OLD NEW) '
                                           'or one (NEW)')
        runner = self.app.runner
        found = [protection.checkpoint(runner, cid)
                 for cid in parsed_args.ids]
        if len(found) == 1:
            older = protection.previous(runner, found[0])
            if older is None:
                raise exceptions.GeoflowsError(
                    'checkpoint %s is the first of group %s: give another '
                    'to compare it with' % (found[0].id,
                                            found[0].group_name))
            found.insert(0, older)
        old, new = found
        out = self.app.stdout
        out.write('from %s (%s) to %s (%s)\n' % (
            old.id, old.consistent_at, new.id, new.consistent_at))
        lines = protection.diff(old, new)
        for line in lines or ['no change of the metadata']:
            out.write(line + '\n')
        out.write('data:\n')
        for line in diff.copy_lines(new) or ['(no data copies)']:
            out.write('  ' + line + '\n')
        if parsed_args.check:
            warnings = protection.readiness(runner, new)
            out.write('takeover from %s:\n' % new.id)
            for line in warnings or ['nothing missing at the DR site']:
                out.write('  ' + ('warning: ' if warnings else '') + line
                          + '\n')
        return 0
