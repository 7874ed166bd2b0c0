"""geoflows interconnect setup | check | teardown"""

from geoflows.cmd import common


class _Operation(common.PlanJobCommand):

    items_help = 'interconnects of the plan (default: all)'


class Setup(_Operation):
    """Build interconnects on both sides.

    Running it again repairs what is missing and creates nothing twice.
    Exits 0 on success, 1 if the job failed.
    """

    operation = 'interconnect.setup'

    keeps_on_failure = True


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
