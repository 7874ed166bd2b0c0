"""geoflows job list | show | report | submit | resume | revert | abort"""

import sys
import time

from cliff import columns

from geoflows.cmd import common
from geoflows import exceptions
from geoflows import jobs
from geoflows import operations


class ListJobs(common.Lister):
    """List jobs, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--state', action='append',
                            choices=(jobs.PENDING, jobs.RUNNING, jobs.SUCCESS,
                                     jobs.FAILED, jobs.REVERTED,
                                     jobs.SUSPENDED),
                            help='only jobs in this state (repeatable)')
        parser.add_argument('--limit', type=int, default=50,
                            help='at most this many jobs (default 50; 0 '
                                 'for all)')
        return parser

    def take_action(self, parsed_args):
        found = self.app.job_queries.list(parsed_args.state,
                                          parsed_args.limit or None)
        rows = [(j.id, j.operation, j.plan_name, j.display_state,
                 jobs.isoformat(j.created_at), j.duration, j.owner)
                for j in found]
        return (('ID', 'Operation', 'Plan', 'State', 'Created',
                 'Duration (s)', 'Owner'), rows)


class _JobCommand(common.ShowOne):

    exit_code = 0

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('job_id', metavar='ID',
                            help='job id (or a unique prefix of it)')
        return parser

    def run(self, parsed_args):
        rc = super().run(parsed_args)
        return self.exit_code or rc

    def show_job(self, job, with_steps=True):
        steps = self.app.job_queries.steps(job.id)[1] if with_steps else None
        return common.job_data(job, steps)

    def run_job(self, parsed_args, method, wanted):
        """Run ``method(job_id, on_event)`` with progress and Ctrl-C.

        With --submit, post it for a conductor instead.  The command exits 1
        unless the job ends in state ``wanted`` (or was posted).
        """
        runner = self.app.runner
        job_id = runner.get(parsed_args.job_id).id
        if common.wants_submit(parsed_args):
            job = common.submit(runner, job_id, method.__name__,
                                parsed_args.wait, parsed_args.timeout)
            if parsed_args.wait:
                self.exit_code = 0 if job.state == wanted else 1
            return self.show_job(job, with_steps=parsed_args.wait)
        job = common.run_interruptible(runner, job_id, lambda: method(
            job_id, on_event=common.progress_callback(parsed_args)))
        self.exit_code = 0 if job.state == wanted else 1
        return self.show_job(job)


class ShowJob(_JobCommand):
    """Show a job and every step with its state and duration."""

    def take_action(self, parsed_args):
        return self.show_job(self.app.job_queries.get(parsed_args.job_id))


class _ReportVNFsColumn(columns.FormattableColumn):
    """The groups of a report: a table per VNF for people."""

    def human_readable(self):
        from geoflows import report
        rows = report.table_rows({'groups': self._value})
        if not rows:
            return 'none'
        return common._table(list(report.TABLE_HEADINGS), rows)

    def machine_readable(self):
        return self._value


class _ReportProblemsColumn(columns.FormattableColumn):

    def human_readable(self):
        from geoflows import report
        rows = report.problem_rows({'problems': self._value})
        if not rows:
            return 'none'
        return common._table(list(report.PROBLEM_HEADINGS), rows)

    def machine_readable(self):
        return self._value


class ReportJob(common.ShowOne):
    """Report a takeover, failback or drill job, per VNF.

    Per VNF: ready, measured RTO against its target, achieved RPO, its
    group's verification; then what failed or was skipped.  With --html,
    also write a self-contained page with a timeline of each VNF's steps.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('job_id', metavar='ID',
                            help='job id (or a unique prefix of it)')
        parser.add_argument('--html', metavar='FILE',
                            help='also write the report as one HTML page '
                                 '(it loads nothing from the network)')
        return parser

    def take_action(self, parsed_args):
        from geoflows import report as report_mod

        queries = self.app.job_queries
        job = queries.get(parsed_args.job_id)
        report_mod.check_reportable(job)
        # A runner's state store, or the records of its cheaper reader.
        records = getattr(queries, 'records', None) or queries.store
        report = report_mod.build(records, job)
        if parsed_args.html:
            page = report_mod.html(report)
            with open(parsed_args.html, 'w', encoding='utf-8') as f:
                f.write(page)
            sys.stderr.write('job %s: report written to %s\n' % (
                job.id, parsed_args.html))
        names, values = [], []
        for name, value in report.items():
            if name == 'groups':
                value = _ReportVNFsColumn(value)
            elif name == 'problems':
                value = _ReportProblemsColumn(value)
            names.append(name)
            values.append(value)
        return tuple(names), tuple(values)


class SubmitJob(common.ShowOne):
    """Record a job and post it to the jobboard for a conductor.

    Prints the job (PENDING until a conductor claims it).  With --wait,
    exits 0 if it ends SUCCESS, 1 otherwise.
    """

    exit_code = 0

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('operation', choices=operations.OPERATIONS,
                            help='what the job does')
        parser.add_argument('names', metavar='NAME', nargs='*',
                            help='items of the plan (default: all)')
        # "OPERATION --plan P NAME": plain argparse takes no positional
        # after an option once the first positional was taken.
        parser.parse_args = parser.parse_intermixed_args
        parser.add_argument('--plan', required=True, metavar='PLAN',
                            help='plan file (YAML)')
        parser.add_argument('--keep-on-failure', action='store_true',
                            default=None,
                            help='if the job fails, keep what it made for '
                                 'inspection (then: geoflows job '
                                 'resume|revert ID)')
        common.add_submit_arguments(parser, choosable=False)
        return parser

    def run(self, parsed_args):
        rc = super().run(parsed_args)
        return self.exit_code or rc

    def take_action(self, parsed_args):
        from geoflows import plan as plan_mod

        runner = self.app.runner
        plan = plan_mod.load(parsed_args.plan)
        job_id = runner.create(parsed_args.operation, plan,
                               parsed_args.names,
                               keep_on_failure=parsed_args.keep_on_failure)
        job = common.submit(runner, job_id, 'run', parsed_args.wait,
                            parsed_args.timeout)
        if parsed_args.wait and job.state != jobs.SUCCESS:
            self.exit_code = 1
        steps = runner.steps(job.id)[1] if parsed_args.wait else None
        return common.job_data(job, steps)


class ResumeJob(_JobCommand):
    """Finish a job that stopped (crash, kept failure, abort --keep).

    A job that was being reverted goes on reverting.

    Exits 0 if the job ends as intended (SUCCESS, or REVERTED when it was
    reverting), 1 otherwise.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_progress_arguments(parser)
        common.add_submit_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        runner = self.app.runner
        mode = runner.get(parsed_args.job_id).mode
        return self.run_job(parsed_args, runner.resume,
                            jobs.SUCCESS if mode == jobs.MODE_RUN
                            else jobs.REVERTED)


class RevertJob(_JobCommand):
    """Undo everything a job did, even a job that succeeded.

    Exits 0 if the job ends REVERTED, 1 otherwise (run it again once the
    cause is fixed: a revert can be repeated).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_progress_arguments(parser)
        common.add_submit_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        return self.run_job(parsed_args, self.app.runner.revert,
                            jobs.REVERTED)


class AbortJob(_JobCommand):
    """Stop a running job after its current steps, then revert it.

    With --keep nothing is reverted: the job ends SUSPENDED.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--keep', action='store_true',
                            help='do not revert: leave the job SUSPENDED '
                                 'for a later resume or revert')
        parser.add_argument('--wait', type=float, default=300, metavar='S',
                            help='seconds to wait for the job to stop '
                                 '(default 300; 0 to return at once)')
        return parser

    def take_action(self, parsed_args):
        runner = self.app.runner
        job = runner.abort(parsed_args.job_id, keep=parsed_args.keep)
        deadline = time.monotonic() + parsed_args.wait
        while job.state == jobs.RUNNING and not job.stale and \
                time.monotonic() < deadline:
            time.sleep(0.5)
            job = runner.get(job.id)
        if job.state == jobs.RUNNING and not job.stale:
            if parsed_args.wait:
                raise exceptions.JobError(
                    'job %s has not stopped after %ss; it stops after its '
                    'current steps' % (job.id, parsed_args.wait))
        return self.show_job(job)
