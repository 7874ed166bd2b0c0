"""The workbooks executed by a real Mistral against the two real regions.

One Mistral (API, engine, executor, notifier: four processes) for the
class, started by geoflows.testing.minicloud.mistral with its database on
the machine's PostgreSQL and its RPC on the machine's RabbitMQ, geoflows
installed beside it.  The workbook is uploaded through the REST API; the
executor runs geoflows' actions on a PostgreSQL state store of the class,
which the tests read through the geoflows command.
"""

import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from mistralclient.api import client as mistral_client

from geoflows import jobs
from geoflows import store as store_mod
from geoflows.testing.minicloud import mistral as mistral_server
from tests.functional import base
from tests.functional import fixtures as f_fixtures
from tests import guide
from tests.unit import databases
from tests.unit import jobboards

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
WORKBOOK = os.path.join(REPO, 'workbooks', 'geoflows.interconnect.v1.yaml')
WB = 'geoflows.interconnect.v1'
PROTECTION_WB = 'geoflows.protection.v1'
TAKEOVER_WB = 'geoflows.takeover.v1'
#: the guide's sections that tests/functional/test_mistral_protection.py
#: runs (they need the sample VNFs)
PROTECTION_SECTIONS = ('protect', 'sync', 'status', 'cron-sync',
                       'cron-status', 'cron-follow', 'cron-delete')
#: the guide's sections that tests/functional/test_mistral_takeover.py runs
TAKEOVER_SECTIONS = ('takeover-disaster', 'takeover-report')
FAILBACK_SECTIONS = ('failback-reprotect', 'failback')
DRILL_SECTIONS = ('drill', 'drill-cleanup')
ACTIONS = ('geoflows.plan.validate', 'geoflows.job.start',
           'geoflows.job.status', 'geoflows.job.resume', 'geoflows.job.revert',
           'geoflows.protection.status', 'geoflows.checkpoint.list',
           'geoflows.takeover.start', 'geoflows.takeover.verify',
           'geoflows.takeover.report', 'geoflows.takeover.fence',
           'geoflows.failback.reprotect', 'geoflows.failback.start',
           'geoflows.failback.report', 'geoflows.drill.start',
           'geoflows.drill.cleanup', 'geoflows.drill.report',
           'geoflows.drill.list')
CLOUD_OF_SITE = {'east': 'site-a', 'west': 'site-b', 'east-cell1': 'site-a',
                 'east-cell2': 'site-a'}
GETTERS = {'network': 'get_network', 'subnet': 'get_subnet',
           'router': 'get_router', 'segment': 'get_segment',
           'BGPVPN': 'get_bgpvpn', 'IKE policy': 'get_vpn_ike_policy',
           'IPsec policy': 'get_vpn_ipsec_policy',
           'VPN service': 'get_vpn_service',
           'endpoint group': 'get_vpn_endpoint_group',
           'IPsec site connection': 'get_vpn_ipsec_site_connection'}
EXPIRY = 6


class MistralTestCase(base.FunctionalTestCase):

    #: the workbooks the class loads, and the one whose workflows
    #: :meth:`execute` runs
    WORKBOOKS = (WORKBOOK,)
    WB = WB
    #: whether Mistral runs cron triggers
    CRON_TRIGGERS = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for reason in (databases.PostgreSQLDatabase.unreachable(),
                       jobboards.RedisBoard.unreachable()):
            if reason:
                raise AssertionError(reason)
        cls.dir = tempfile.mkdtemp(prefix='geoflows-mistral-')
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        database = databases.PostgreSQLDatabase()
        database.setUp()
        cls.addClassCleanup(database.cleanUp)
        board = jobboards.RedisBoard()
        board.setUp()
        cls.addClassCleanup(board.cleanUp)
        cls.state_url, cls.board_name = database.url, board.name
        cls.state_dir = os.path.join(cls.dir, 'state')
        clouds_yaml = os.path.join(cls.dir, 'clouds.yaml')
        shutil.copy(os.environ['OS_CLIENT_CONFIG_FILE'], clouds_yaml)
        cls.geoflows_conf = os.path.join(cls.dir, 'geoflows.conf')
        cls.server = mistral_server.MistralServer(
            os.path.join(cls.dir, 'mistral'),
            geoflows_config=cls.geoflows_conf,
            cron_triggers=cls.CRON_TRIGGERS)
        cls.addClassCleanup(cls.server.down)
        cls._write_conf(clouds_yaml, mistral_url='')
        cls.timings = cls.server.up()
        # The conductors report to this Mistral (they read the file when
        # they start; the executors never need it).
        cls._write_conf(clouds_yaml, mistral_url=cls.server.url)
        cls.client = mistral_client.client(mistral_url=cls.server.url)
        for path in cls.WORKBOOKS:
            with open(path) as f:
                started = time.monotonic()
                cls.client.workbooks.create(f.read())
                cls.timings['workbook upload %s' % os.path.basename(
                    path)] = time.monotonic() - started

    @classmethod
    def _write_conf(cls, clouds_yaml, mistral_url):
        with open(cls.geoflows_conf, 'w') as f:
            f.write('[DEFAULT]\nstate_dir = %s\n'
                    '[state]\nconnection = %s\n'
                    '[clouds]\nconfig_file = %s\n'
                    '[ipsec]\nactive_interval = 0.5\n'
                    '[jobboard]\nname = %s\nclaim_expiry = %d\n'
                    '[conductor]\npoll_interval = 0.2\n'
                    '[mistral]\n%s' % (
                        cls.state_dir, cls.state_url, clouds_yaml,
                        cls.board_name, EXPIRY,
                        'url = %s\n' % mistral_url if mistral_url else ''))

    def setUp(self):
        super().setUp()
        # The geoflows command reads the jobs the executor wrote.
        for key in [k for k in self.env if k.startswith('OS_DEFAULT__')]:
            del self.env[key]
        self.env['GEOFLOWS_CONFIG_FILE'] = self.geoflows_conf

    # -- Mistral -----------------------------------------------------------

    def execute(self, workflow, wait=True, **inputs):
        execution = self.client.executions.create(
            '%s.%s' % (self.WB, workflow), workflow_input=inputs)
        return self.wait(execution.id) if wait else execution

    def wait(self, execution_id, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = self.client.executions.get(execution_id)
            if execution.state not in ('IDLE', 'RUNNING', 'PAUSED'):
                execution.output_data = json.loads(execution.output or '{}')
                return execution
            time.sleep(0.5)
        self.fail('execution %s still %s after %ss'
                  % (execution_id, execution.state, timeout))

    def task(self, execution_id, name):
        for task in self.client.tasks.list(execution_id):
            if task.name == name:
                return task
        return None

    def action_executions(self, execution_id, task_name):
        task = self.task(execution_id, task_name)
        if task is None:
            return []
        return sorted(self.client.action_executions.list(task.id),
                      key=lambda a: a.created_at)

    def wait_for_action(self, execution_id, task_name, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [a for a in self.action_executions(execution_id,
                                                         task_name)
                       if a.state == 'RUNNING']
            if running:
                return running[0]
            time.sleep(0.3)
        self.fail('task %s never ran' % task_name)

    def plan_text(self, *templates):
        with open(self.write_plan(*templates)) as f:
            return f.read()

    # -- geoflows and the sites -------------------------------------------

    def jobs_of_plan(self):
        listed = self.geoflows('job', 'list', '-f', 'json').json
        return [j for j in listed if j['Plan'] == self.name]

    def verify_resources(self, report):
        """Every resource the report names exists on its site."""
        checked = 0
        for unit, result in report['result']['units'].items():
            for resource in result['resources']:
                getter = GETTERS.get(resource['kind'])
                if getter is None:  # associations, router interfaces
                    continue
                cloud = CLOUD_OF_SITE[resource['site']]
                found = getattr(self.network(cloud), getter)(resource['id'])
                self.assertEqual(resource['id'], found.id)
                checked += 1
        return checked


class TestWorkbookOnMistral(MistralTestCase):

    def test_setup_check_teardown_with_approval(self):
        plan = self.plan_text(base.BGPVPN, base.IPSEC)
        initial = self.snapshots()

        setup = self.execute('setup', plan=plan)
        self.assertEqual('SUCCESS', setup.state, setup.state_info)
        report = setup.output_data['report']
        self.assertEqual('SUCCESS', report['state'])
        self.assertEqual(['core', 'oam'], sorted(report['units']))
        self.assertGreaterEqual(self.verify_resources(report), 10)
        self.assertEqual([], self.duplicates('site-a') +
                         self.duplicates('site-b'))
        [job] = self.jobs_of_plan()
        self.assertEqual(report['id'], job['ID'])
        self.assertTrue(job['Owner'].startswith('mistral@'), job)

        check = self.execute('check', plan=plan)
        self.assertEqual('SUCCESS', check.state, check.state_info)
        self.assertEqual({'ok'}, {u['status'] for u in check.output_data[
            'report']['result']['units'].values()})

        built = self.snapshots()
        teardown = self.execute('teardown', wait=False, plan=plan,
                                require_approval=True)
        approval = self.wait_for_action(teardown.id, 'await_approval')
        time.sleep(2)  # nothing is deleted while the decision is pending
        self.assertEqual('RUNNING',
                         self.client.executions.get(teardown.id).state)
        self.assertEqual(built, self.snapshots())
        self.client.action_executions.update(approval.id, state='SUCCESS')
        teardown = self.wait(teardown.id)
        self.assertEqual('SUCCESS', teardown.state, teardown.state_info)
        deleted = teardown.output_data['report']['result']['units']
        self.assertTrue(all(r['action'] == 'deleted' for u in deleted.values()
                            for r in u['resources']))
        self.assertEqual(initial, self.snapshots())

        drift = self.execute('check', plan=plan)
        self.assertEqual('ERROR', drift.state)
        self.assertIn('differ from the plan: core, oam', drift.state_info)

    def test_a_rejected_teardown_deletes_nothing(self):
        plan = self.plan_text(base.SEGMENTS)
        self.assertEqual('SUCCESS', self.execute('setup', plan=plan).state)
        built = self.snapshots()
        teardown = self.execute('teardown', wait=False, plan=plan,
                                require_approval=True)
        approval = self.wait_for_action(teardown.id, 'await_approval')
        self.client.action_executions.update(
            approval.id, state='ERROR',
            output={'reason': 'not during the sports final'})
        teardown = self.wait(teardown.id)
        self.assertEqual('ERROR', teardown.state)
        self.assertIn('teardown of plan %s rejected: not during the sports '
                      'final' % self.name, teardown.state_info)
        self.assertIsNone(self.task(teardown.id, 'run_job'))
        self.assertEqual(built, self.snapshots())
        self.assertEqual('SUCCESS', self.execute('teardown',
                                                 plan=plan).state)

    def test_a_failing_job_ends_in_error_and_leaves_the_sites_clean(self):
        # The remote router's external network does not exist: the job
        # fails after the local side was built, and reverts it.
        plan = self.plan_text(base.IPSEC).replace(
            'router: {name: %s-edge-west, external_network: public}'
            % self.name,
            'router: {name: %s-edge-west, external_network: nowhere}'
            % self.name)
        self.assertIn('nowhere', plan)
        initial = self.snapshots()
        setup = self.execute('setup', plan=plan)
        self.assertEqual('ERROR', setup.state)
        self.assertIn('geoflows job', setup.state_info)
        self.assertIn('ended REVERTED', setup.state_info)
        self.assertIn('nowhere', setup.state_info)
        self.assertIn('everything it did was undone', setup.state_info)
        self.assertNotIn('Traceback', setup.state_info)
        error = setup.output_data['error']
        self.assertEqual('JobFailed', error['kind'])
        self.assertEqual('REVERTED', error['job']['state'])
        # A geoflows failure is final: no retry of the task.
        self.assertEqual(1, len(self.action_executions(setup.id, 'run_job')))
        self.assertEqual(initial, self.snapshots())

    def test_an_invalid_plan_ends_in_error_before_any_job(self):
        plan = self.plan_text(base.BGPVPN).replace('type: bgpvpn',
                                                   'type: gre')
        setup = self.execute('setup', plan=plan)
        self.assertEqual('ERROR', setup.state)
        self.assertIn('is not a valid plan', setup.state_info)
        self.assertIn("interconnects[0].overlay.type: 'gre' is not one of",
                      setup.state_info)
        self.assertIsNone(self.task(setup.id, 'run_job'))
        self.assertEqual([], self.jobs_of_plan())


class TestExecutorLoss(MistralTestCase):

    def test_killed_executor_then_retry_resumes_the_same_job(self):
        plan = self.plan_text(base.BGPVPN, base.IPSEC)
        initial = self.snapshots()
        execution = self.execute('setup', wait=False, plan=plan)
        job = self._wait_for_progress()
        self.server.kill('executor')
        killed = time.monotonic()
        self.server.start('executor')
        setup = self.wait(execution.id)
        self.assertEqual('SUCCESS', setup.state, setup.state_info)
        report = setup.output_data['report']
        self.assertEqual(job['ID'], report['id'])
        self.assertEqual(2, report['attempts'])
        self.assertEqual([job['ID']], [j['ID'] for j in self.jobs_of_plan()])
        attempts = self.action_executions(execution.id, 'run_job')
        self.assertEqual(['ERROR', 'SUCCESS'], [a.state for a in attempts])
        self.assertIn("Heartbeat wasn't received",
                      self.client.action_executions.get(
                          attempts[0].id).output)
        self.assertGreaterEqual(self.verify_resources(report), 10)
        self.assertEqual([], self.duplicates('site-a') +
                         self.duplicates('site-b'))
        self.record_measurement(kill_to_success=time.monotonic() - killed)
        down = self.execute('teardown', plan=plan)
        self.assertEqual('SUCCESS', down.state, down.state_info)
        self.assertEqual(initial, self.snapshots())

    def _wait_for_progress(self, timeout=120):
        """The job, once some of its steps are done and others not.

        (Read from the state store directly: the job takes seconds.)
        """
        store = store_mod.StateStore(self.state_url)
        self.addCleanup(store.close)
        store.upgrade()  # the executor may not have made the tables yet
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for job in store.list_jobs([jobs.RUNNING]):
                if job.plan_name != self.name:
                    continue
                states = {row['state'] for row in store.job_steps(job.id)}
                if 'SUCCESS' in states and states - {'SUCCESS', 'RUNNING'}:
                    return {'ID': job.id}
            time.sleep(0.05)
        self.fail('the job never got under way: %s' % self.jobs_of_plan())


class TestSubmittedToConductor(MistralTestCase):

    def test_conductor_reports_the_outcome_to_mistral(self):
        conductor = self.useFixture(f_fixtures.ConductorProcess(
            [base.GEOFLOWS, 'conductor', '--name', 'ctl-m'], self.env))
        conductor.wait_for('claiming jobs')
        plan = self.plan_text(base.BGPVPN)
        initial = self.snapshots()
        setup = self.execute('setup', plan=plan, submit=True)
        self.assertEqual('SUCCESS', setup.state, setup.state_info)
        report = setup.output_data['report']
        self.assertEqual('SUCCESS', report['state'])
        self.assertEqual('ctl-m', report['owner'])
        self.verify_resources(report)
        conductor.wait_for('reported SUCCESS to Mistral action execution')
        down = self.execute('teardown', plan=plan, submit=True)
        self.assertEqual('SUCCESS', down.state, down.state_info)
        self.assertEqual(initial, self.snapshots())


class GuideShell(object):
    """Runs sections of the Mistral guide's commands file as written.

    Each section runs in bash with the guide's example values replaced by
    the test's (its Mistral, its Mistral venv, its plan files, its sync
    pattern), through the ``openstack`` client of the test environment,
    with authentication off as the guide's ``reach-noauth`` says.
    """

    plan_file = None
    sync_pattern = '*/5 * * * *'

    def setUp(self):
        super().setUp()
        self.sections = guide.sections()
        self.sections_run = set()
        self.timings = {}

    def shell(self, section, expect=0, **variables):
        """Run a section; return its standard output."""
        values = ('MISTRAL_URL=%s\nMISTRAL_VENV=%s\nPLAN_FILE=%s\n'
                  'PLAN=%s\nSYNC_PATTERN=%s\n' % (
                      self.server.url, self.server.venv, self.plan_file,
                      self.plan_file, shlex.quote(self.sync_pattern)))
        script = ('set -euo pipefail\n' + values +
                  self.sections['reach-noauth'] + self.sections[section])
        # The client sees only what the guide sets (no clouds.yaml, no
        # geoflows OS_* options of the other tests).
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env['PATH'] = os.path.dirname(sys.executable) + ':' + env['PATH']
        env.update(variables)
        started = time.monotonic()
        proc = subprocess.run(['bash', '-c', script], cwd=self.tmp, env=env,
                              capture_output=True, text=True, timeout=300)
        self.timings[section] = time.monotonic() - started
        self.sections_run.add(section)
        self.assertEqual(expect, proc.returncode, 'section %s:\n%s\n%s' % (
            section, proc.stdout, proc.stderr))
        return proc.stdout

    def execution_id(self, output):
        match = re.search(r'^\|\s*ID\s*\|\s*([0-9a-f-]{36})\s*\|', output,
                          re.MULTILINE)
        self.assertIsNotNone(match, output)
        return match.group(1)


class TestGuideCommands(GuideShell, MistralTestCase):
    """The Mistral guide's client commands, run as the guide shows them.

    (doc/source/admin/mistral-commands.sh, see :class:`GuideShell`.)
    """

    # Sections this test does not run, and why.
    NOT_RUN = {
        'client-install': 'the test environment has both clients '
                          '(test-requirements.txt)',
        'reach-keystone': 'this Mistral runs without authentication',
        'pack-install': 'the harness installs geoflows into Mistral\'s venv '
                        'from this source tree (pip install SOURCE), not '
                        'from a package index',
    }
    NOT_RUN.update((section, 'run by test_mistral_protection, with the '
                             'sample VNFs') for section in PROTECTION_SECTIONS)
    NOT_RUN.update((section, 'run by test_mistral_takeover, with the sample '
                             'VNFs') for section in TAKEOVER_SECTIONS +
                   FAILBACK_SECTIONS + DRILL_SECTIONS)

    def setUp(self):
        super().setUp()
        self.plan_file = os.path.join(self.tmp, 'dr.yaml')

    def decide(self, execution_id, section):
        approval = self.wait_for_action(execution_id, 'await_approval')
        task = self.task(execution_id, 'await_approval')
        found = self.shell('decision-find', EXECUTION_ID=execution_id,
                           TASK_EXECUTION_ID=task.id)
        self.assertIn(execution_id, found)
        self.assertIn('await_approval', found)
        self.assertIn(approval.id, found)
        self.shell(section, ACTION_EXECUTION_ID=approval.id)
        return self.wait(execution_id)

    def test_the_guide_commands_work_as_written(self):
        run = {'reach-noauth', 'example-values', 'pack-check',
               'workbook-create', 'workbook-update', 'run-inline',
               'run-plan-file', 'follow', 'teardown-approval',
               'decision-find', 'decision-approve', 'decision-reject'}
        # A section added to the guide is run here, or said why not.
        self.assertEqual(set(self.sections), run | set(self.NOT_RUN))

        listed = self.shell('pack-check')
        for action in ACTIONS:
            self.assertIn(action, listed)
        # Loaded by the class through the API: the guide loads it again
        # from where pip put it, with the protection workbook.
        self.client.workbooks.delete(WB)
        created = self.shell('workbook-create')
        self.assertIn(WB, created)
        self.assertIn(PROTECTION_WB, created)
        self.assertIn(TAKEOVER_WB, created)
        updated = self.shell('workbook-update')
        self.assertIn(WB, updated)
        self.assertIn(PROTECTION_WB, updated)
        self.assertIn(TAKEOVER_WB, updated)

        with open(self.plan_file, 'w') as f:
            f.write(self.plan_text(base.SEGMENTS))
        initial = self.snapshots()
        setup = self.wait(self.execution_id(self.shell('run-inline')))
        self.assertEqual('SUCCESS', setup.state, setup.state_info)
        shown = self.shell('follow', EXECUTION_ID=setup.id)
        self.assertIn('SUCCESS', shown)
        self.assertIn('"report"', shown)
        [job] = self.jobs_of_plan()
        self.assertEqual(setup.output_data['report']['id'], job['ID'])
        check = self.wait(self.execution_id(self.shell('run-plan-file')))
        self.assertEqual('SUCCESS', check.state, check.state_info)
        built = self.snapshots()

        rejected = self.decide(
            self.execution_id(self.shell('teardown-approval')),
            'decision-reject')
        self.assertEqual('ERROR', rejected.state)
        self.assertIn('rejected: not during the maintenance freeze',
                      rejected.state_info)
        self.assertEqual(built, self.snapshots())

        approved = self.decide(
            self.execution_id(self.shell('teardown-approval')),
            'decision-approve')
        self.assertEqual('SUCCESS', approved.state, approved.state_info)
        self.assertEqual(initial, self.snapshots())
        self.record_measurement(client_seconds=self.timings)

    def test_an_invalid_plan_from_the_client(self):
        """How long an operator waits for the verdict on a bad plan."""
        with open(self.plan_file, 'w') as f:
            f.write(self.plan_text(base.BGPVPN).replace('type: bgpvpn',
                                                        'type: gre'))
        started = time.monotonic()
        execution = self.wait(self.execution_id(self.shell('run-inline')))
        seen = time.monotonic() - started
        self.assertEqual('ERROR', execution.state)
        self.assertIn("'gre' is not one of", execution.state_info)
        server = (_parse_time(execution.updated_at) -
                  _parse_time(execution.created_at)).total_seconds()
        self.record_measurement(invalid_plan_client_seconds=seen,
                                invalid_plan_server_seconds=server)


def _parse_time(text):
    return datetime.datetime.strptime(text, '%Y-%m-%d %H:%M:%S')
