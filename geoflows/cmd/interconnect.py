"""geoflows interconnect setup | check | teardown"""

import sys

from geoflows.cmd import common
from geoflows import jobs


class _Operation(common.ShowOne):

    operation = None
    exit_code = 0

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--plan', required=True, metavar='PLAN',
                            help='plan file (YAML)')
        parser.add_argument('names', metavar='NAME', nargs='*',
                            help='interconnects of the plan (default: all)')
        common.add_progress_arguments(parser)
        common.add_submit_arguments(parser)
        return parser

    def run(self, parsed_args):
        rc = super().run(parsed_args)
        return self.exit_code or rc

    def start(self, parsed_args, keep_on_failure=None):
        from geoflows import plan as plan_mod

        plan = plan_mod.load(parsed_args.plan)
        runner = self.app.runner
        job_id = runner.create(self.operation, plan, parsed_args.names,
                               keep_on_failure=keep_on_failure)
        sys.stderr.write('job %s: %s of plan %r\n' % (
            job_id, self.operation, plan.name))
        sys.stderr.flush()
        if common.wants_submit(parsed_args):
            job = common.submit(runner, job_id, 'run', parsed_args.wait,
                                parsed_args.timeout)
            if parsed_args.wait and job.state != jobs.SUCCESS:
                self.exit_code = 1
            return job
        job = common.run_interruptible(
            runner, job_id, lambda: runner.run(
                job_id, on_event=common.progress_callback(parsed_args)))
        self.exit_code = 0 if job.state == jobs.SUCCESS else 1
        return job

    def take_action(self, parsed_args):
        job = self.start(parsed_args)
        return common.job_data(job)


class Setup(_Operation):
    """Build interconnects on both sides.

    Running it again repairs what is missing and creates nothing twice.
    Exits 0 on success, 1 if the job failed.
    """

    operation = 'interconnect.setup'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--keep-on-failure', action='store_true',
                            default=None,
                            help='if the job fails, keep what it made for '
                                 'inspection (then: geoflows job '
                                 'resume|revert ID)')
        return parser

    def take_action(self, parsed_args):
        job = self.start(parsed_args, parsed_args.keep_on_failure)
        return common.job_data(job)


class Check(_Operation):
    """Compare both sides of interconnects with the plan.

    Exits 0 when everything matches, 1 on drift or if the check failed.
    """

    operation = 'interconnect.check'

    def take_action(self, parsed_args):
        job = self.start(parsed_args)
        units = (job.result or {}).get('units', {})
        if any(report.get('status') != 'ok' for report in units.values()):
            self.exit_code = 1
        return common.job_data(job)


class Teardown(_Operation):
    """Remove interconnects from both sides (what geoflows created).

    Safe to repeat.
    """

    operation = 'interconnect.teardown'
