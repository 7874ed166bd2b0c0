"""geoflows takeover | protection verify | protection fence"""

import re

from cliff import columns

from geoflows.cmd import common
from geoflows import exceptions

# A protection group's name, as plans spell it (an identifier).
_GROUP = re.compile(r'^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$')


def group_name(text):
    """A GROUP argument: a protection group's name, as plans allow."""
    if not _GROUP.match(text):
        import argparse
        raise argparse.ArgumentTypeError(
            '%r is not a protection group name (lower-case letters, digits '
            'and dashes, at most 32 characters; "geoflows protection status '
            '--plan PLAN" lists the groups)' % text[:40])
    return text


def plan_path(text):
    """--plan's value: a file's path, of a length a file system takes."""
    if not text or len(text) > 4096 or '\0' in text:
        import argparse
        raise argparse.ArgumentTypeError(
            '%r... is not a plan file: give the path of a plan (YAML) of '
            'at most 4096 characters' % text[:40])
    return text


def group_job_arguments(parser):
    """A PlanJobCommand's NAMEs as protection GROUPs, --plan as a path."""
    for action in parser._actions:
        if action.dest == 'names':
            action.metavar = 'GROUP'
            action.type = group_name
            action.help = 'protection groups of the plan (default: all)'
        elif action.dest == 'plan':
            action.type = plan_path
    return parser


def _add_plan(parser):
    parser.add_argument('--plan', required=True, metavar='PLAN',
                        type=plan_path, help='plan file (YAML)')


def checkpoint_argument(text):
    """--checkpoint's value: an id of "geoflows checkpoint list"."""
    from geoflows import takeover
    try:
        return takeover.checkpoint_id(text)
    except exceptions.GeoflowsError as e:
        import argparse
        raise argparse.ArgumentTypeError(str(e))


def _add_groups(parser, required=False):
    parser.add_argument('names', metavar='GROUP', nargs='+' if required
                        else '*', type=group_name,
                        help='protection groups of the plan%s' % (
                            '' if required else ' (default: all)'))


_table = common._table


class PredictionColumn(columns.FormattableColumn):
    """Per VNF of a takeover not made: its steps and predicted RTO."""

    def human_readable(self):
        return _table(
            ['group', 'VNF', 'priority', 'standby', 'steps', 'starts at',
             'predicted RTO (s)', 'target (s)', 'over target'],
            [(r['group'], r['vnf'], r['priority'], r['standby'],
              '\n'.join('%s x%d, %gs' % (s['kind'], s['count'],
                                         s['seconds'])
                        for s in r['steps']) or '-',
              r['start'], r['ready'], r['target'],
              'OVER' if r['exceeds'] else '')
             for r in self._value])

    def machine_readable(self):
        return self._value


class GroupsColumn(columns.FormattableColumn):
    """Per group of a takeover not made: its RTO and the step times."""

    def human_readable(self):
        return _table(
            ['group', 'checkpoint', 'predicted RTO (s)', 'target (s)',
             'step times (s)', 'over target'],
            [(g['group'], g['checkpoint'], g['rto'], g['target'],
              '\n'.join('%s %g (%s)' % (kind, seconds, source)
                        for kind, (seconds, source) in sorted(
                            g['times'].items())),
              'OVER' if g['exceeds'] else '')
             for g in self._value])

    def machine_readable(self):
        return self._value


class Takeover(common.PlanJobCommand):
    """Take protection groups over at their DR site, by priority.

    --planned: the primary answers; its VNFs are quiesced, stopped (kept
    for a failback) and copied a last time: nothing is lost.  --disaster
    --confirm-primary-lost: the primary is lost; its VNFs are fenced if it
    still answers, and come up from the newest checkpoint (or
    --checkpoint).  The report gives per VNF its measured RTO and achieved
    RPO, and the DR site compared with the checkpoint.  --dry-run changes
    nothing: per VNF its steps and predicted RTO against the group's
    target.  Exits 0 when every VNF is up (or, with --dry-run, within its
    target), 1 otherwise.
    """

    operation = 'takeover'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        for action in parser._actions:
            if action.dest == 'names':
                action.metavar, action.type = 'GROUP', group_name
                action.help = 'protection groups of the plan (default: all)'
            elif action.dest == 'plan':
                action.type = plan_path
        modes = parser.add_argument_group('mode (one of them)')
        modes.add_argument('--planned', dest='mode', action='append_const',
                           const='planned',
                           help='the primary answers: stop its VNFs after a '
                                'final sync (nothing is lost)')
        modes.add_argument('--disaster', dest='mode', action='append_const',
                           const='disaster',
                           help='the primary is lost: from the newest '
                                'checkpoint (with --confirm-primary-lost)')
        parser.add_argument('--confirm-primary-lost', action='store_true',
                            help='with --disaster: the operator declares the '
                                 'primary lost')
        parser.add_argument('--checkpoint', metavar='ID',
                            type=checkpoint_argument,
                            help='with --disaster and one group: from this '
                                 'checkpoint rather than the newest')
        parser.add_argument('--dry-run', action='store_true',
                            help='change nothing: print every VNF\'s steps '
                                 'and predicted RTO (exit 1 if one exceeds '
                                 'its target)')
        return parser

    def _mode(self, parsed_args):
        modes = parsed_args.mode or []
        if len(set(modes)) > 1:
            raise exceptions.GeoflowsError(
                'give --planned or --disaster, not both: planned when the '
                'primary answers, disaster when it is lost')
        if not modes and not parsed_args.dry_run:
            raise exceptions.GeoflowsError(
                'give --planned (the primary answers: nothing is lost) or '
                '--disaster --confirm-primary-lost (the primary is lost: '
                'from the newest checkpoint); --dry-run predicts either')
        return modes[0] if modes else None

    def create_arguments(self, parsed_args):
        return {'params': self.params}

    def take_action(self, parsed_args):
        from geoflows import plan as plan_mod
        from geoflows import takeover
        mode = self._mode(parsed_args)
        if parsed_args.dry_run:
            return self._dry_run(parsed_args, mode)
        plan = plan_mod.load(parsed_args.plan)
        self.params = takeover.prepare(
            self.app.runner, plan, parsed_args.names, mode,
            parsed_args.confirm_primary_lost, parsed_args.checkpoint)
        return common.job_data(self.start(parsed_args))

    def _dry_run(self, parsed_args, mode):
        from geoflows import plan as plan_mod
        from geoflows import takeover
        if parsed_args.checkpoint and mode == 'planned':
            raise exceptions.GeoflowsError(
                'a planned takeover makes its own checkpoint; --checkpoint '
                'goes with --disaster')
        plan = plan_mod.load(parsed_args.plan)
        runner = self.app.runner
        found = takeover.predict(runner, plan, parsed_args.names,
                                 parsed_args.checkpoint,
                                 mode=mode or 'disaster')
        rows, groups = [], []
        for group in found:
            groups.append({key: group[key] for key in (
                'group', 'checkpoint', 'rto', 'target', 'exceeds',
                'times')})
            for name, vnf in sorted(group['vnfs'].items(),
                                    key=lambda i: (i[1]['priority'],
                                                   i[1]['start'], i[0])):
                rows.append(dict(vnf, group=group['group'], vnf=name,
                                 target=group['target']))
        over = [r for r in rows if r['exceeds']]
        self.exit_code = 1 if over or any(g['exceeds'] for g in groups) \
            else 0
        verdict = ('%d VNF%s over target: %s' % (
            len(over), '' if len(over) == 1 else 's',
            ', '.join('%s/%s' % (r['group'], r['vnf']) for r in over))
            if over else 'every VNF within its target')
        if mode == 'planned':
            note = ('a planned takeover also stops the primary and makes '
                    'its final copies first (not predicted)')
        else:
            from geoflows import conf
            from geoflows import rto
            note = ('fencing the primary counted as in the last takeover '
                    '(or %gs): a primary that does not answer costs up to '
                    '%ds more ([protection] fence_timeout)' % (
                        rto.DEFAULTS['fence'],
                        conf.CONF.protection.fence_timeout))
        return (('mode', 'vnfs', 'groups', 'verdict', 'note'),
                (mode or 'disaster', PredictionColumn(rows),
                 GroupsColumn(groups), verdict, note))


class ProtectionVerify(common.Command):
    """Compare the site serving protection groups with their checkpoint.

    After a takeover: everything of the group at the DR site, against the
    takeover's checkpoint; before one: the DR site's standbys, networks and
    security groups against the newest checkpoint.  Servers, flavors,
    images, ports with IPs, MACs and security groups, volumes, rules,
    chains; every difference is printed.  Exits 1 on any, 0 when none.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_plan(parser)
        _add_groups(parser)
        parser.add_argument('--checkpoint', metavar='ID',
                            type=checkpoint_argument,
                            help='with one group: compare with this '
                                 'checkpoint')
        parser.add_argument('--site', metavar='SITE',
                            help='compare this site of the plan, every VNF '
                                 'and chain (an origin after its failback, '
                                 'with --checkpoint one read there before)')
        return parser

    def take_action(self, parsed_args):
        from geoflows import plan as plan_mod
        from geoflows import takeover
        plan = plan_mod.load(parsed_args.plan)
        found = takeover.verify(self.app.runner, plan, parsed_args.names,
                                parsed_args.checkpoint, parsed_args.site)
        out = self.app.stdout
        differences = 0
        for group in found:
            out.write('group %s at %s (%s), checkpoint %s: %s\n' % (
                group['group'], group['site'], group['scope'],
                group['checkpoint'],
                '%d difference%s' % (len(group['differences']), '' if len(
                    group['differences']) == 1 else 's')
                if group['differences'] else 'no difference'))
            for line in group['differences']:
                out.write('  %s\n' % line)
            differences += len(group['differences'])
        return 1 if differences else 0


class ProtectionFence(common.Lister):
    """Fence the primary of groups taken over, or confirm it is fenced.

    A disaster takeover whose primary did not answer leaves its groups
    "not fenced" (see "geoflows protection status"), and protect and sync
    refuse them.  Without --confirm-fenced: now that the primary answers,
    its protected servers are stopped and their ports taken down (a job);
    with it: the operator says they are down (nothing is called).  Exits 1
    when a group is still not fenced.
    """

    exit_code = 0

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_plan(parser)
        _add_groups(parser, required=True)
        parser.add_argument('--confirm-fenced', action='store_true',
                            help='the primary\'s VNFs are down (fenced by '
                                 'hand): record it without calling the '
                                 'primary')
        common.add_progress_arguments(parser)
        return parser

    def run(self, parsed_args):
        rc = super().run(parsed_args)
        return self.exit_code or rc

    def take_action(self, parsed_args):
        from geoflows.checkpoints import groups
        from geoflows import plan as plan_mod
        from geoflows import takeover
        plan = plan_mod.load(parsed_args.plan)
        rows = takeover.fence(self.app.runner, plan, parsed_args.names,
                              confirm=parsed_args.confirm_fenced,
                              on_event=common.progress_callback(
                                  parsed_args))
        if any(row['fence'] != groups.FENCED for row in rows):
            self.exit_code = 1
        return ('Group', 'Fence', 'Detail', 'Job'), [
            (r['group'], r['fence'] or '-', r['detail'], r['job'])
            for r in rows]
