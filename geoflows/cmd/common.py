"""Shared pieces of the geoflows commands: base classes, job display and
progress.

Every command module is imported whenever the command lists its commands
(``geoflows --help``), so they import only what is cheap at module level
(argparse, cliff, these helpers); Taskflow, openstacksdk, SQLAlchemy, the
plan validator and the runner are imported by the code that uses them.
"""

import signal
import sys
import threading
import time

from cliff import columns
from cliff import command
from cliff import lister
from cliff import show
import prettytable

from geoflows import jobs
from geoflows import runtime

JOB_FIELDS = ('id', 'operation', 'plan', 'plan_digest', 'state', 'units',
              'created_at', 'started_at', 'finished_at', 'duration',
              'attempts', 'owner', 'error')


class _Epilog(object):
    """cliff's epilog of a command, without a scan of every distribution.

    cliff adds "This command is provided by the X plugin." when a command
    comes from another distribution than the application, which it finds
    with importlib.metadata.packages_distributions(): it reads the file
    list of every installed distribution, 50 to 90 ms on each command's
    start.  geoflows' own commands never get that line.
    """

    def get_epilog(self):
        parts = [self._epilog or '']
        for hook in self._hooks:
            if hook.obj is not None:
                epilog = hook.obj.get_epilog()
                if epilog is not None:
                    parts.append(epilog)
        return '\n\n'.join(parts)


class Command(_Epilog, command.Command):
    """Base class of geoflows' commands that print what they want."""


class Lister(_Epilog, lister.Lister):
    """Base class of geoflows' commands that print a list."""


class ShowOne(_Epilog, show.ShowOne):
    """Base class of geoflows' commands that print one object."""


def _table(field_names, rows):
    table = prettytable.PrettyTable(field_names)
    table.align = 'l'
    for row in rows:
        table.add_row(row)
    return table.get_string()


class StepsColumn(columns.FormattableColumn):
    """The steps of a job: a table for people, a list for programs."""

    def human_readable(self):
        if not self._value:
            return '(no step has run)'
        return _table(['unit', 'step', 'state', 'started', 'duration'], [
            (s['unit'], s['step'], s['state'], s['started_at'] or '-',
             '%.3fs' % s['duration'] if s['duration'] is not None else '-')
            for s in self._value])

    def machine_readable(self):
        return self._value


class FindingsColumn(columns.FormattableColumn):

    def human_readable(self):
        if not self._value:
            return 'none'
        return _table(['interconnect', 'site', 'resource', 'problem'], [
            (f['interconnect'], f['site'], f['resource'], f['problem'])
            for f in self._value])

    def machine_readable(self):
        return self._value


class ResourcesColumn(columns.FormattableColumn):

    def human_readable(self):
        if not self._value:
            return 'none'
        return _table(['interconnect', 'site', 'kind', 'name', 'action'], [
            (r['interconnect'], r['site'], r['kind'], r['name'], r['action'])
            for r in self._value])

    def machine_readable(self):
        return self._value


class UnitsColumn(columns.FormattableColumn):

    def human_readable(self):
        return ', '.join(self._value)

    def machine_readable(self):
        return self._value


def _number(value):
    return '-' if value is None else '%g' % value


class ReportColumn(columns.FormattableColumn):
    """Per VNF of a takeover: ready, measured RTO and achieved RPO."""

    def human_readable(self):
        if not self._value:
            return 'none (no group reached its report)'
        return _table(
            ['group', 'VNF', 'priority', 'standby', 'ready', 'RTO (s)',
             'RTO target', 'RPO (s)', 'RPO target'],
            [(r['group'], r['vnf'], r['priority'], r['standby'],
              'yes' if r['ready'] else 'no', _number(r['rto']),
              '%s%s' % (r['rto_target'], '' if r['rto_met'] or not
                        r['ready'] else ' (exceeded)'),
              _number(r['rpo']), r['rpo_target']) for r in self._value])

    def machine_readable(self):
        return self._value


def takeover_report(job):
    """(rows per VNF, verdict lines per group) of a takeover's reports."""
    units = (job.result or {}).get('units', {})
    rows, verdicts = [], []
    for name in sorted(units):
        report = units[name]
        if not name.endswith('.done') or 'vnfs' not in report:
            continue
        for vnf, info in sorted(report['vnfs'].items(),
                                key=lambda i: (i[1]['priority'], i[0])):
            rows.append(dict(info, group=report['group'], vnf=vnf))
        verdict = report.get('verify') or {}
        if verdict.get('error'):
            verdicts.append('%s: not verified: %s' % (report['group'],
                                                      verdict['error']))
        elif verdict.get('differences'):
            verdicts.append('%s: %d differences from checkpoint %s:\n%s' % (
                report['group'], len(verdict['differences']),
                report['checkpoint'], '\n'.join(
                    '  ' + d for d in verdict['differences'])))
        else:
            verdicts.append('%s: as checkpoint %s says' % (
                report['group'], report['checkpoint']))
    return rows, verdicts


def _takeover_fields(job):
    """The report of a takeover (and what failed, for a PARTIAL one)."""
    rows, verdicts = takeover_report(job)
    fields = [('report', ReportColumn(rows)),
              ('verify', '\n'.join(verdicts) or '-')]
    result = job.result or {}
    if result.get('failed') or result.get('skipped'):
        fields += [
            ('failed', '\n'.join(
                why if why.startswith(unit + ':') else '%s: %s' % (unit, why)
                for unit, why in sorted(result.get('failed', {}).items()))
             or 'none'),
            ('skipped', '\n'.join('%s: %s' % item for item in sorted(
                result.get('skipped', {}).items())) or 'none'),
            ('next', 'fix the cause, then "geoflows job resume %s" runs '
                     'only the failed and skipped units ("geoflows job '
                     'revert %s" undoes the whole %s)' % (
                         job.id, job.id, job.operation))]
    return fields


def _failback_fields(job):
    """Per VNF of a failback: when it was ready, drained, on standby."""
    from geoflows import failback
    rows = []
    for report in failback.reports(job):
        for name, row in sorted(report['vnfs'].items(),
                                key=lambda i: (i[1]['priority'], i[0])):
            rows.append((report['group'], name, row['standby'],
                         row['origin_ready'], row['drained'],
                         row['standby_at'], report['serving_at'],
                         report['seconds']))
    fields = [('report', _FailbackColumn(rows))]
    result = job.result or {}
    if result.get('failed') or result.get('skipped'):
        fields += [
            ('failed', '\n'.join('%s: %s' % item for item in sorted(
                result.get('failed', {}).items())) or 'none'),
            ('skipped', '\n'.join('%s: %s' % item for item in sorted(
                result.get('skipped', {}).items())) or 'none'),
            ('next', 'fix the cause, then "geoflows job resume %s"; '
                     'until the origin serves, "geoflows job revert %s" '
                     'gives the service back to the DR site' % (
                         job.id, job.id))]
    return fields


class _FailbackColumn(columns.FormattableColumn):

    HEADINGS = ('group', 'VNF', 'standby', 'ready at origin (s)',
                'drained (s)', 'on standby (s)', 'origin serves (s)',
                'failback (s)')

    def human_readable(self):
        return _table(list(self.HEADINGS), self._value)

    def machine_readable(self):
        return [dict(zip(('group', 'vnf', 'standby', 'origin_ready',
                          'drained', 'standby_at', 'serving_at', 'seconds'),
                         row)) for row in self._value]


def step_rows(steps):
    rows = []
    for step in steps:
        reverting = step['revert_started_at'] is not None
        start = step['revert_started_at'] if reverting else step['started_at']
        end = (step['revert_finished_at'] if reverting
               else step['finished_at'])
        rows.append({
            'unit': step['unit'], 'step': step['name'],
            'state': step['state'],
            'started_at': jobs.isoformat(step['started_at']),
            'finished_at': jobs.isoformat(step['finished_at']),
            'reverted_at': jobs.isoformat(step['revert_finished_at']),
            'duration': (jobs.seconds_between(start, end)
                         if start and end else None)})
    return rows


def job_data(job, steps=None):
    """(columns, values) of a job for a cliff ShowOne."""
    info = job.to_dict()
    info['state'] = job.display_state
    values = [info[field] for field in JOB_FIELDS]
    values[JOB_FIELDS.index('units')] = UnitsColumn(info['units'])
    names = list(JOB_FIELDS)
    result = job.result or {}
    units = result.get('units', {})
    resources = [dict(r, interconnect=unit) for unit, report in units.items()
                 for r in report.get('resources', ())]
    if resources:
        names.append('resources')
        values.append(ResourcesColumn(resources))
    if any('findings' in report for report in units.values()):
        names.append('findings')
        values.append(FindingsColumn(
            [dict(f, interconnect=unit) for unit, report in units.items()
             for f in report.get('findings', ())]))
    if job.operation == 'failback':
        for name, value in _failback_fields(job):
            names.append(name)
            values.append(value)
    if job.operation in ('takeover', 'drill'):
        for name, value in _takeover_fields(job):
            names.append(name)
            values.append(value)
    if steps is not None:
        names.append('steps')
        values.append(StepsColumn(step_rows(steps)))
    return tuple(names), tuple(values)


class ProgressPrinter(object):
    """Print each step's state changes as they happen (to stderr)."""

    SHOWN = ('RUNNING', 'SUCCESS', 'FAILURE', 'REVERTING', 'REVERTED',
             'REVERT_FAILURE', 'RETRYING')

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self._started = {}
        self._lock = threading.Lock()

    def __call__(self, event):
        if event.state not in self.SHOWN:
            return
        key = (event.unit, event.step)
        now = time.monotonic()
        with self._lock:
            if event.state in ('RUNNING', 'REVERTING'):
                self._started[key] = now
                elapsed = ''
            else:
                began = self._started.pop(key, None)
                elapsed = '%6.2fs' % (now - began) if began else ''
            line = '%s  %-14s %-44s %-14s %s' % (
                time.strftime('%H:%M:%S'), event.unit, event.step,
                event.state, elapsed)
            if event.error:
                line += '\n          %s' % event.error
            self.stream.write(line.rstrip() + '\n')
            self.stream.flush()


def add_progress_arguments(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--progress', dest='progress', action='store_true',
                       default=None,
                       help='Show each step as it runs (default: when '
                            'standard error is a terminal).')
    group.add_argument('--no-progress', dest='progress',
                       action='store_false', help='Do not show steps.')


def progress_callback(parsed_args):
    show = parsed_args.progress
    if show is None:
        show = sys.stderr.isatty()
    return ProgressPrinter() if show else None


def run_interruptible(runner, job_id, action):
    """Run ``action()`` (which runs job ``job_id``) with Ctrl-C handling.

    The first Ctrl-C asks the job to stop after its current steps and keep
    what it did (SUSPENDED, to resume or revert); a second one quits at
    once (the job can still be resumed or reverted).
    """
    runtime.tune_for_large_jobs()  # only commands that run a job pay it
    interrupted = []

    def on_sigint(signum, frame):
        if interrupted:
            raise KeyboardInterrupt()
        interrupted.append(True)
        sys.stderr.write(
            '\nstopping job %s after its current steps; it will be '
            'SUSPENDED (then: geoflows job resume|revert %s). Ctrl-C again '
            'quits at once.\n' % (job_id, job_id))
        runner.abort(job_id, keep=True)

    if threading.current_thread() is not threading.main_thread():
        return action()
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return action()
    finally:
        signal.signal(signal.SIGINT, previous)


def add_submit_arguments(parser, choosable=True):
    """--submit / --wait / --timeout of the commands that can post a job."""
    group = parser.add_argument_group('jobboard')
    if choosable:
        choice = group.add_mutually_exclusive_group()
        choice.add_argument(
            '--submit', dest='submit', action='store_true', default=None,
            help='post the job to the jobboard for a conductor instead of '
                 'running it here (default: [jobboard] submit)')
        choice.add_argument('--no-submit', dest='submit',
                            action='store_false',
                            help='run the job in this process')
    group.add_argument('--wait', action='store_true',
                       help='with a posted job: wait until a conductor is '
                            'done with it, then show it (exit 1 unless it '
                            'ended as intended)')
    group.add_argument('--timeout', type=float, default=0, metavar='S',
                       help='with --wait: give up waiting after S seconds '
                            '(default 0: no limit); the job goes on')


def wants_submit(parsed_args):
    """Whether the job goes to the jobboard ([jobboard] submit default)."""
    from geoflows import conf
    if parsed_args.submit is None:
        return conf.CONF.jobboard.submit
    return parsed_args.submit


def submit(runner, job_id, action, wait=False, timeout=0):
    """Post job ``job_id`` for a conductor; return the job.

    With ``wait``, return once a conductor is done with the posting (it ran
    the job to an outcome, or gave up on it).
    """
    from taskflow import states as tf_states

    from geoflows import conf
    from geoflows import exceptions
    from geoflows import jobboard
    from geoflows import runner as runner_mod

    group = conf.CONF.jobboard
    job = runner.get(job_id)
    name = 'submit-%s' % runner_mod.owner_id()
    with jobboard.connected(group, name, runner.backend) as board:
        posting = jobboard.post(board, job, action)
        sys.stderr.write('job %s: posted to the %s for a conductor\n'
                         % (job.id, jobboard.describe(group)))
        sys.stderr.flush()
        if wait:
            deadline = time.monotonic() + timeout if timeout else None
            while posting.state != tf_states.COMPLETE:
                if deadline and time.monotonic() > deadline:
                    raise exceptions.JobError(
                        'job %s: no conductor was done with it after %ss; '
                        'it stays on the board (see "geoflows job show %s")'
                        % (job.id, timeout, job.id))
                time.sleep(0.5)
    return runner.get(job.id)


class PlanJobCommand(ShowOne):
    """A command that runs one operation on a plan as a job."""

    operation = None
    items_help = None
    #: offer --keep-on-failure (jobs that make things; checks make none)
    keeps_on_failure = False
    exit_code = 0

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--plan', required=True, metavar='PLAN',
                            help='plan file (YAML)')
        parser.add_argument('names', metavar='NAME', nargs='*',
                            help=self.items_help)
        if self.keeps_on_failure:
            parser.add_argument(
                '--keep-on-failure', action='store_true', default=None,
                help='if the job fails, keep what it made for inspection '
                     '(then: geoflows job resume|revert ID)')
        add_progress_arguments(parser)
        add_submit_arguments(parser)
        return parser

    def run(self, parsed_args):
        rc = super().run(parsed_args)
        return self.exit_code or rc

    def start(self, parsed_args, keep_on_failure=None):
        if keep_on_failure is None:
            keep_on_failure = getattr(parsed_args, 'keep_on_failure', None)
        from geoflows import plan as plan_mod

        plan = plan_mod.load(parsed_args.plan)
        runner = self.app.runner
        job_id = runner.create(self.operation, plan, parsed_args.names,
                               keep_on_failure=keep_on_failure,
                               **self.create_arguments(parsed_args))
        sys.stderr.write('job %s: %s of plan %r\n' % (
            job_id, self.operation, plan.name))
        sys.stderr.flush()
        if wants_submit(parsed_args):
            job = submit(runner, job_id, 'run', parsed_args.wait,
                         parsed_args.timeout)
            if parsed_args.wait and job.state != jobs.SUCCESS:
                self.exit_code = 1
            return job
        job = run_interruptible(
            runner, job_id, lambda: runner.run(
                job_id, on_event=progress_callback(parsed_args)))
        self.exit_code = 0 if job.state == jobs.SUCCESS else 1
        return job

    def create_arguments(self, parsed_args):
        """More arguments of runner.create (e.g. params)."""
        return {}

    def take_action(self, parsed_args):
        job = self.start(parsed_args)
        return job_data(job)
