"""The geoflows command itself: its help, and what it imports to start."""

import gc
import json
import os
import subprocess
import sys

from cliff import help as cliff_help
import fixtures
import yaml

from geoflows.cmd import main
from tests.unit import base
from tests.unit.cmd import test_plan

COMMANDS_HELP = '''\
Commands:
  bench          Measure the runner: N VNFs of k steps on a fake site
  checkpoint diff  What changed at the primary between two checkpoints of a \
group
  checkpoint list  List checkpoints, newest first
  checkpoint show  Show a checkpoint: its VNFs, data copies, and takeover \
warnings
  complete       print bash completion command (cliff)
  conductor      Claim jobs from the jobboard and run them, until stopped
  drill          Rehearse a takeover in an isolated copy at the DR site
  drill cleanup  Remove what is left of a drill's isolated copy
  drill list     The drills' isolated copies still present, with their age
  failback       Give reprotected groups back to their origin, service unbroken
  help           print detailed help for another command (cliff)
  interconnect check  Compare both sides of interconnects with the plan
  interconnect setup  Build interconnects on both sides
  interconnect teardown  Remove interconnects from both sides (what \
geoflows created)
  job abort      Stop a running job after its current steps, then revert it
  job list       List jobs, newest first
  job report     Report a takeover, failback or drill job, per VNF
  job resume     Finish a job that stopped (crash, kept failure, abort --keep)
  job revert     Undo everything a job did, even a job that succeeded
  job show       Show a job and every step with its state and duration
  job submit     Record a job and post it to the jobboard for a conductor
  plan schema    Print the JSON Schema of plans (for editors and CI checks)
  plan validate  Check a plan file: schema and semantic checks, every \
problem listed
  protect        Prepare the DR site of protection groups
  protection fence  Fence the primary of groups taken over, or confirm it \
is fenced
  protection status  The achieved RPO of every protected VNF, against its \
target
  protection verify  Compare the site serving protection groups with their \
checkpoint
  reprotect      Replicate protection groups back from the DR site serving them
  sync           Take a checkpoint of protection groups: metadata, hooks, data
  takeover       Take protection groups over at their DR site, by priority
'''

# What the commands that must answer at once may not import: each costs a
# large part of a second (together, most of the command's old start-up).
HEAVY = ('taskflow', 'openstack', 'keystoneauth1', 'sqlalchemy', 'futurist',
         'networkx', 'eventlet', 'redis', 'psycopg2', 'geoflows.runner',
         'geoflows.store', 'geoflows.clouds', 'geoflows.engines')
PLAN_MODULES = ('jsonschema', 'yaml', 'geoflows.plan')
COMMAND_MODULES = ('geoflows.cmd.bench', 'geoflows.cmd.common',
                   'geoflows.cmd.conductor', 'geoflows.cmd.interconnect',
                   'geoflows.cmd.job', 'geoflows.cmd.plan',
                   'geoflows.cmd.protection', 'geoflows.cmd.takeover')

# Runs geoflows with argv[2:] and writes its exit code and modules to
# argv[1].
PROBE = '''
import json, sys
from geoflows.cmd import main
try:
    code = main.main(sys.argv[2:])
except SystemExit as e:
    code = e.code or 0
with open(sys.argv[1], 'w') as f:
    json.dump({'code': code, 'modules': sorted(sys.modules)}, f)
'''


class TestHelp(test_plan.PlanCommandTestCase):

    def help_text(self, *argv):
        self.assertRaises(cliff_help.HelpExit, self.geoflows, *argv)
        return self.stdout.getvalue()

    def test_help_lists_every_command(self):
        text = self.help_text('--help')

        self.assertEqual(COMMANDS_HELP, text[text.index('Commands:'):])
        self.assertIn('--config-file PATH', text)

    def test_help_command_prints_the_same(self):
        shown = self.help_text('--help')
        self.stdout.seek(0)
        self.stdout.truncate()

        self.assertEqual(0, self.geoflows('help'))
        self.assertEqual(shown, self.stdout.getvalue())

    def test_every_entry_point_is_a_command(self):
        app = main.GeoflowsApp()
        names = sorted(name for name, _ep in app.command_manager)
        listed = [line.split('  ')[1].strip() for line in
                  COMMANDS_HELP.splitlines()[1:]]
        self.assertEqual(sorted(listed), names)

    def test_help_of_a_command(self):
        self.assertEqual(0, self.geoflows('help', 'job', 'list'))
        out = self.stdout.getvalue()
        self.assertIn('List jobs, newest first.', out)
        self.assertIn('--state {PENDING,RUNNING,SUCCESS,FAILED,REVERTED,'
                      'SUSPENDED}', out)
        self.assertNotIn('plugin', out)

    def test_distribution_of_a_package_named_otherwise(self):
        dists = main._Distributions()
        self.assertEqual('PyYAML', dists.of(yaml.SafeLoader))
        self.assertEqual('geoflows', dists.of(main.GeoflowsApp))
        self.assertEqual('cliff', dists.of(cliff_help.HelpCommand))


class TestExit(test_plan.PlanCommandTestCase):

    def test_the_command_leaves_its_objects_to_the_end_of_the_process(self):
        registered = self.useFixture(fixtures.MockPatch(
            'atexit.register')).mock
        self.useFixture(fixtures.MonkeyPatch(
            'sys.argv', ['geoflows', 'plan', 'schema', '--path']))

        self.assertEqual(0, main.main())

        registered.assert_called_once_with(gc.freeze)
        self.assertIn('plan-v1.schema.json', self.stdout.getvalue())

    def test_not_when_called_with_arguments(self):
        registered = self.useFixture(fixtures.MockPatch(
            'atexit.register')).mock

        self.assertEqual(0, main.main(['plan', 'schema', '--path']))

        registered.assert_not_called()


class TestStartup(base.CloudTestCase):
    """What a command imports, seen from a process of its own."""

    def setUp(self):
        super().setUp()
        self.config = os.path.join(self.tmp, 'geoflows.conf')
        with open(self.config, 'w') as f:
            f.write('[DEFAULT]\nstate_dir = %s\n[state]\nconnection = '
                    'sqlite:///%s\n' % (os.path.join(self.tmp, 'state'),
                                        self.store.engine.url.database))

    def run_geoflows(self, *argv):
        """Run geoflows in a new process; return the modules it loaded."""
        out = os.path.join(self.tmp, 'probe.json')
        env = {key: value for key, value in os.environ.items()
               if not (key.startswith('OS_') and '__' in key)}
        env['GEOFLOWS_CONFIG_FILE'] = self.config
        proc = subprocess.run([sys.executable, '-c', PROBE, out] + list(argv),
                              env=env, capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        with open(out) as f:
            result = json.load(f)
        self.assertEqual(0, result['code'], proc.stdout + proc.stderr)
        return set(result['modules'])

    def assertNotLoaded(self, names, modules):
        loaded = sorted(module for module in modules for name in names
                        if module == name or module.startswith(name + '.'))
        self.assertEqual([], loaded)

    def test_version_imports_no_command(self):
        modules = self.run_geoflows('--version')

        self.assertNotLoaded(HEAVY + PLAN_MODULES + COMMAND_MODULES +
                             ('oslo_config',), modules)

    def test_help_imports_the_commands_only(self):
        modules = self.run_geoflows('--help')

        self.assertLessEqual(set(COMMAND_MODULES), modules)
        self.assertNotLoaded(HEAVY + PLAN_MODULES, modules)

    def test_plan_validate_imports_the_plan_validator_only(self):
        modules = self.run_geoflows('plan', 'validate', base.EXAMPLE_PLAN)

        self.assertLessEqual({'jsonschema', 'geoflows.plan'}, modules)
        self.assertNotLoaded(HEAVY, modules)

    def test_job_list_and_show_read_the_store_without_a_runner(self):
        job = self.runner.start('interconnect.setup', base.make_plan())

        for argv in (('job', 'list'), ('job', 'show', job.id[:8]),
                     ('job', 'show', job.id, '-f', 'json')):
            self.assertNotLoaded(HEAVY + PLAN_MODULES,
                                 self.run_geoflows(*argv))

    def test_a_new_store_is_created_through_sqlalchemy(self):
        # Also shows that the probe sees what a command imports.
        path = os.path.join(self.tmp, 'new', 'geoflows.sqlite')
        with open(self.config, 'w') as f:
            f.write('[state]\nconnection = sqlite:///%s\n' % path)

        modules = self.run_geoflows('job', 'list')

        self.assertIn('sqlalchemy', modules)
        self.assertNotLoaded(('taskflow', 'openstack', 'futurist',
                              'networkx', 'geoflows.runner'), modules)
        self.assertTrue(os.path.exists(path))
