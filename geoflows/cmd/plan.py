"""geoflows plan validate | schema"""

import json

from geoflows.cmd import common
from geoflows import exceptions
from geoflows import text


class ValidatePlan(common.Command):
    """Check a plan file: schema and semantic checks, every problem listed.

    Exits 0 if the plan is valid, 1 otherwise.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('plan', metavar='PLAN', help='plan file (YAML)')
        parser.add_argument('-f', '--format', choices=('text', 'json'),
                            default='text', help='output format')
        return parser

    def take_action(self, parsed_args):
        from geoflows import plan as plan_mod

        out = self.app.stdout
        # The file name, as the problems, is printed escaped: a name from
        # the command line may hold anything, a newline or bytes that are
        # not UTF-8 (lone surrogates once decoded).
        name = text.escape(parsed_args.plan)
        try:
            plan = plan_mod.load(parsed_args.plan)
        except exceptions.PlanError as e:
            if parsed_args.format == 'json':
                text.write_line(out, json.dumps({
                    'plan': name, 'valid': False,
                    'problems': [p.to_dict() for p in e.problems]},
                    indent=2))
            else:
                for problem in e.problems:
                    text.write_line(out, problem.format(e.source))
                text.write_line(out, '%s: %d problem%s' % (
                    text.escape(e.source), len(e.problems),
                    '' if len(e.problems) == 1 else 's'))
            return 1
        summary = {'plan': name, 'valid': True,
                   'name': plan.name, 'digest': plan.digest,
                   'sites': sorted(plan.sites),
                   'interconnects': [ic.name for ic in plan.interconnects]}
        if parsed_args.format == 'json':
            text.write_line(out, json.dumps(summary, indent=2))
        else:
            text.write_line(
                out, '%s: valid plan %r (%d sites, %d interconnects, %s)' % (
                    name, plan.name, len(plan.sites),
                    len(plan.interconnects), plan.digest))
        return 0

    def run(self, parsed_args):
        return self.take_action(parsed_args)


class ShowSchema(common.Command):
    """Print the JSON Schema of plans (for editors and CI checks)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--path', action='store_true',
                            help='print the schema file\'s path instead')
        return parser

    def take_action(self, parsed_args):
        from geoflows import plan as plan_mod

        if parsed_args.path:
            self.app.stdout.write(plan_mod.SCHEMA_FILE + '\n')
        else:
            self.app.stdout.write(json.dumps(plan_mod.schema(), indent=2)
                                  + '\n')
        return 0
