"""geoflows.plan.* actions."""

from geoflows.actions import base


class ValidatePlan(base.GeoflowsAction):
    """Validate a plan; return its name, digest, sites and interconnects.

    The action fails listing every problem with its place in the plan.

    :param plan: the plan, as a mapping or as YAML text.
    :param plan_file: or the path of a plan file on the executor hosts.
    """

    def __init__(self, plan=None, plan_file=None):
        super().__init__()
        self.plan = plan
        self.plan_file = plan_file

    def execute(self, context):
        plan = base.load_plan(self.plan, self.plan_file, 'the "plan" input')
        return {'valid': True, 'name': plan.name, 'digest': plan.digest,
                'sites': sorted(plan.sites),
                'interconnects': [i.name for i in plan.interconnects]}
