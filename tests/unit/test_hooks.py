"""Tests of the consistency hooks, with real processes and HTTP servers.

Command hooks are small shell scripts written to the test's temporary
directory; webhooks are called on HTTP and HTTPS servers on 127.0.0.1 (the
HTTPS one with a CA and a certificate made by the test).
"""

import datetime
import http.server
import ipaddress
import json
import logging
import os
import socket
import ssl
import threading
import time
import urllib.parse
import uuid
import warnings

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID
import fixtures
import jsonschema
import referencing
from taskflow import engines
from taskflow.patterns import linear_flow
from taskflow import task
from taskflow.types import failure

from geoflows import conf
from geoflows import exceptions
from geoflows import hooks
from geoflows import secrets
from tests.unit import base

EXAMPLES = os.path.join(base.REPO, 'doc', 'source', 'user', 'hook-examples')
VNF = {'name': 'db', 'priority': 1, 'standby': 'warm'}
SERVER = {'name': 'db-0', 'id': 'b7c1a3e0-0000-4000-8000-000000000001',
          'site': 'lyon'}


def new_secret(prefix='hook'):
    return '%s-%s' % (prefix, uuid.uuid4().hex)


def payload(point='quiesce', server=SERVER, **kwargs):
    return hooks.make_payload(point, 'telco', VNF, 'job-1', server=server,
                              group='core', **kwargs)


def live_members(pgid):
    """Processes of process group ``pgid`` that are not zombies."""
    members = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ('Z', 'X'):
            members.append(int(entry))
    return members


class HookTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='geoflows.hooks', level=logging.DEBUG,
            format='%(levelname)s %(message)s'))

    def script(self, body, name=None, mode=0o755, shebang='#!/bin/sh'):
        """An executable shell script with ``body``; returns its path."""
        path = os.path.join(self.tmp, name or 'hook-%s' % uuid.uuid4().hex)
        with open(path, 'w') as f:
            f.write('%s\n%s\n' % (shebang, body))
        os.chmod(path, mode)
        return path

    def run_hooks(self, hook_list, point='quiesce', **kwargs):
        data = kwargs.pop('payload', None) or payload(point)
        return hooks.run({point: hook_list}, data, point, **kwargs)

    def failing(self, hook_list, point='quiesce', **kwargs):
        return self.assertRaises(exceptions.HookError, self.run_hooks,
                                 hook_list, point, **kwargs)

    def read(self, path):
        with open(path) as f:
            return f.read()


class TestCommand(HookTestCase):

    def test_payload_comes_on_standard_input(self):
        received = os.path.join(self.tmp, 'stdin.json')
        hook = self.script('cat > "$1"')

        self.run_hooks([{'command': [hook, received]}])

        self.assertEqual(payload(), json.loads(self.read(received)))

    def test_environment_is_minimal_with_hook_and_geoflows_variables(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'GEOFLOWS_TEST_CONTROLLER_ONLY', 'from-the-controller'))
        dumped = os.path.join(self.tmp, 'env')
        hook = self.script('env > "$1"')

        self.run_hooks([{'command': [hook, dumped],
                         'env': {'APP_MODE': 'flush'}}])

        env = dict(line.split('=', 1)
                   for line in self.read(dumped).splitlines() if '=' in line)
        self.assertNotIn('GEOFLOWS_TEST_CONTROLLER_ONLY', env)
        self.assertEqual(os.environ['PATH'], env['PATH'])
        self.assertEqual('flush', env['APP_MODE'])
        self.assertEqual({'GEOFLOWS_HOOK_POINT': 'quiesce',
                          'GEOFLOWS_HOOK_KEY': 'job-1/quiesce/db/db-0',
                          'GEOFLOWS_PLAN': 'telco',
                          'GEOFLOWS_GROUP': 'core',
                          'GEOFLOWS_VNF': 'db',
                          'GEOFLOWS_SERVER': 'db-0',
                          'GEOFLOWS_SERVER_ID': SERVER['id'],
                          'GEOFLOWS_SITE': 'lyon',
                          'GEOFLOWS_JOB_ID': 'job-1',
                          'GEOFLOWS_DRILL': 'false',
                          'GEOFLOWS_ATTEMPT': '1',
                          'GEOFLOWS_REVERTING': 'false'},
                         {k: v for k, v in env.items()
                          if k.startswith('GEOFLOWS_')})

    def test_pass_env_chooses_the_inherited_variables(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'GEOFLOWS_TEST_PASSED', 'passed'))
        dumped = os.path.join(self.tmp, 'env')
        hook = self.script('env > "$1"')

        self.run_hooks([{'command': [hook, dumped]}],
                       pass_env=['GEOFLOWS_TEST_PASSED'])

        env = self.read(dumped)
        self.assertIn('GEOFLOWS_TEST_PASSED=passed\n', env)
        self.assertIn('PATH=%s\n' % hooks.DEFAULT_PATH, env)
        self.assertNotIn('HOME=', env)

    def test_hook_env_cannot_override_geoflows_variables(self):
        dumped = os.path.join(self.tmp, 'env')
        hook = self.script('echo "$GEOFLOWS_VNF" > "$1"')

        self.run_hooks([{'command': [hook, dumped],
                         'env': {'GEOFLOWS_VNF': 'other'}}])

        self.assertEqual('db\n', self.read(dumped))

    def test_runs_in_a_temporary_directory_removed_afterwards(self):
        where = os.path.join(self.tmp, 'cwd')
        hook = self.script('pwd > "$1"; touch left-behind')

        self.run_hooks([{'command': [hook, where]}])

        cwd = self.read(where).strip()
        self.assertNotEqual(os.getcwd(), cwd)
        self.assertFalse(os.path.exists(cwd))

    def test_success_result(self):
        hook = self.script('echo frozen; echo "to stderr" >&2')

        outcome = self.run_hooks([{'command': [hook, 'arg']}])

        self.assertTrue(outcome.ok)
        self.assertEqual('quiesce', outcome.point)
        self.assertEqual(0, outcome.skipped)
        self.assertIsNone(outcome.drained)
        result = outcome.hooks[0]
        self.assertEqual({'point': 'quiesce', 'index': 0, 'kind': 'command',
                          'target': hook, 'ok': True, 'error': None,
                          'exit_status': 0, 'http_status': None,
                          'output': 'frozen\nto stderr\n', 'output_bytes': 17,
                          'drained': None},
                         {k: v for k, v in result.items() if k != 'duration'})
        self.assertGreaterEqual(result['duration'], 0)
        self.assertEqual(outcome.to_dict(), json.loads(json.dumps(
            outcome.to_dict())))
        self.assertIn('INFO Running quiesce hook 1/1 (command %s) for VNF '
                      "'db', server 'db-0'" % hook, self.logs.output)

    def test_bare_name_is_found_on_path(self):
        outcome = self.run_hooks([{'command': ['true']}])

        self.assertTrue(outcome.ok)

    def test_exit_status_is_a_hook_error_naming_everything(self):
        hook = self.script('echo "step 1 ok"; echo "cannot freeze /data" >&2;'
                           ' exit 3')

        error = self.failing([{'command': [hook]}])

        message = str(error)
        self.assertEqual(
            "quiesce hook 1/1 (command %s) for VNF 'db', server 'db-0': "
            "exit status 3; output: step 1 ok | cannot freeze /data" % hook,
            message)
        self.assertEqual('exit', error.reason)
        self.assertEqual('quiesce', error.point)
        self.assertEqual(3, error.result['exit_status'])
        self.assertFalse(error.result['ok'])
        self.assertEqual('exit', error.result['error'])
        self.assertFalse(error.results['ok'])
        self.assertIn('WARNING %s' % message, self.logs.output)

    def test_message_quotes_the_end_of_long_output_on_one_line(self):
        hook = self.script('seq 1 2000; echo "the real error"; exit 1')

        message = str(self.failing([{'command': [hook]}]))

        self.assertNotIn('\n', message)
        self.assertTrue(message.endswith('the real error'), message)
        self.assertLess(len(message), 600)

    def test_death_by_signal_is_reported(self):
        hook = self.script('kill -KILL $$')

        error = self.failing([{'command': [hook]}])

        self.assertEqual('signal', error.reason)
        self.assertIn('killed by signal SIGKILL', str(error))

    def test_timeout_kills_the_whole_process_group(self):
        group_file = os.path.join(self.tmp, 'pgid')
        # The background child ignores SIGTERM: only SIGKILL ends it.
        hook = self.script('echo $$ > "%s"\n'
                           '(trap "" TERM; exec sleep 300) &\n'
                           'sleep 300' % group_file)
        started = time.monotonic()

        error = self.failing([{'command': [hook], 'timeout': 1}])

        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual('timeout', error.reason)
        self.assertIn('timeout after 1 s', str(error))
        pgid = int(self.read(group_file))
        # The kernel delivers the kill at once; give the scheduler a
        # moment to end the processes.
        for _ in range(100):
            if not live_members(pgid):
                break
            time.sleep(0.1)
        self.assertEqual([], live_members(pgid))

    def test_output_read_before_a_timeout_is_kept(self):
        hook = self.script('echo "waiting for the lock"; sleep 300')

        error = self.failing([{'command': [hook], 'timeout': 1}])

        self.assertEqual('waiting for the lock\n', error.result['output'])
        self.assertIn('output: waiting for the lock', str(error))

    def test_huge_output_is_bounded_to_its_end(self):
        hook = self.script("head -c 20000000 /dev/zero | tr '\\0' x; echo; "
                           "echo 'last line'")

        result = self.run_hooks([{'command': [hook]}]).hooks[0]

        self.assertEqual(20000000 + 11, result['output_bytes'])
        self.assertLessEqual(len(result['output']), hooks.OUTPUT_LIMIT)
        self.assertTrue(result['output'].endswith('\nlast line\n'))

    def test_output_limit_is_configurable(self):
        hook = self.script('seq 1 10000')

        result = self.run_hooks([{'command': [hook]}],
                                output_limit=300).hooks[0]

        self.assertLessEqual(len(result['output']), 300)
        self.assertTrue(result['output'].endswith('\n9999\n10000\n'))

    def test_a_hook_that_never_reads_its_input_is_not_blocked(self):
        data = dict(payload(), padding='x' * 1000000)
        hook = self.script('exit 0')

        outcome = self.run_hooks([{'command': [hook]}], payload=data)

        self.assertTrue(outcome.ok)

    def test_a_process_left_running_does_not_hold_the_hook(self):
        child_file = os.path.join(self.tmp, 'child')
        hook = self.script('sleep 300 & echo $! > "%s"; echo started'
                           % child_file)
        started = time.monotonic()

        try:
            outcome = self.run_hooks([{'command': [hook]}])
        finally:
            if os.path.exists(child_file):
                self.addCleanup(os.kill, int(self.read(child_file)), 9)

        self.assertLess(time.monotonic() - started, 10)
        self.assertTrue(outcome.ok)
        self.assertEqual('started\n', outcome.hooks[0]['output'])

    def test_missing_absolute_command(self):
        missing = os.path.join(self.tmp, 'missing-hook')

        error = self.failing([{'command': [missing]}])

        self.assertEqual('not_found', error.reason)
        self.assertIn('command %s not found' % missing, str(error))

    def test_missing_bare_name(self):
        error = self.failing([{'command': ['geoflows-no-such-hook']}])

        self.assertEqual('not_found', error.reason)
        self.assertIn("command 'geoflows-no-such-hook' not found on PATH",
                      str(error))

    def test_relative_path_is_refused(self):
        error = self.failing([{'command': ['bin/hook']}])

        self.assertEqual('not_found', error.reason)
        self.assertIn('relative path', str(error))

    def test_file_that_is_not_executable(self):
        hook = self.script('exit 0', mode=0o644)

        error = self.failing([{'command': [hook]}])

        self.assertEqual('not_executable', error.reason)
        self.assertIn('cannot run %s: not executable' % hook, str(error))

    def test_script_whose_interpreter_is_missing(self):
        hook = self.script('exit 0', shebang='#!/nonexistent/interpreter')

        error = self.failing([{'command': [hook]}])

        self.assertEqual('not_found', error.reason)
        self.assertIn('the interpreter on its #! line was not found',
                      str(error))


class TestSecrets(HookTestCase):
    """No secret a hook prints reaches a result, an error or a log."""

    def setUp(self):
        super().setUp()
        self.token = new_secret('token')
        self.useFixture(fixtures.EnvironmentVariable(
            'GEOFLOWS_TEST_HOOK_TOKEN', self.token))
        self.password = new_secret('pw')
        self.resolver = secrets.SecretResolver(
            os.path.join(self.tmp, 'master.key'))

    def assertHidden(self, *texts):
        for text in texts + (self.logs.output,):
            self.assertNotIn(self.token, text)
            self.assertNotIn(self.password, text)

    def printing_hook(self, status):
        received = os.path.join(self.tmp, 'received')
        hook = self.script(
            'echo "$HOOK_TOKEN" > "%s"\n'
            'echo "using token $HOOK_TOKEN"\n'
            'echo "db login password=%s" >&2\n'
            'exit %d' % (received, self.password, status))
        spec = [{'command': [hook],
                 'env': {'HOOK_TOKEN': {'env': 'GEOFLOWS_TEST_HOOK_TOKEN'}}}]
        return spec, received

    def test_failing_hook_printing_secrets(self):
        spec, received = self.printing_hook(3)

        error = self.failing(spec, secret_resolver=self.resolver)

        self.assertEqual(self.token + '\n', self.read(received))
        self.assertIn('using token ***', str(error))
        self.assertIn('password=***', str(error))
        self.assertHidden(str(error), json.dumps(error.result),
                          json.dumps(error.results))

    def test_successful_hook_printing_secrets(self):
        spec, _received = self.printing_hook(0)

        outcome = self.run_hooks(spec, secret_resolver=self.resolver)

        self.assertEqual('using token ***\ndb login password=***\n',
                         outcome.hooks[0]['output'])
        self.assertIn('using token ***', self.logs.output)
        self.assertHidden(json.dumps(outcome.to_dict()))

    def test_a_secret_cut_by_the_output_bound_leaves_no_part(self):
        # The bound cuts through the secret's line: masking must come
        # first, else the end of the secret would be kept unmasked.
        hook = self.script('seq 1 3000; echo "key %s"; seq 1 100'
                           % self.password)
        secrets.register(self.password)
        after = len(''.join('%d\n' % i for i in range(1, 101)))

        for limit in range(after, after + 45, 3):
            result = self.run_hooks([{'command': [hook]}],
                                    output_limit=limit).hooks[0]
            self.assertEqual(limit, len(result['output']))
            self.assertNotIn(self.password[-12:], result['output'])

    def test_missing_secret_variable_is_named(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'GEOFLOWS_TEST_HOOK_TOKEN', None))
        spec, _received = self.printing_hook(0)

        error = self.failing(spec, secret_resolver=self.resolver)

        self.assertEqual('secret', error.reason)
        self.assertIn('the secret of environment variable HOOK_TOKEN comes '
                      'from environment variable GEOFLOWS_TEST_HOOK_TOKEN, '
                      'which is not set', str(error))

    def test_default_resolver_reads_env_and_file_sources(self):
        path = os.path.join(self.tmp, 'token')
        with open(path, 'w') as f:
            f.write(self.password + '\n')
        dumped = os.path.join(self.tmp, 'env')
        hook = self.script('echo "$A $B" > "%s"' % dumped)

        self.run_hooks([{'command': [hook],
                         'env': {'A': {'env': 'GEOFLOWS_TEST_HOOK_TOKEN'},
                                 'B': {'file': path}}}])

        self.assertEqual('%s %s\n' % (self.token, self.password),
                         self.read(dumped))
        self.assertEqual('*** ***', secrets.mask('%s %s' % (
            self.token, self.password)))


class TestDrain(HookTestCase):

    def drain(self, body, **kwargs):
        hook = self.script(body)
        return self.run_hooks([{'command': [hook]}], point='drain', **kwargs)

    def test_success_without_verdict_is_drained(self):
        outcome = self.drain('exit 0')

        self.assertTrue(outcome.drained)
        self.assertTrue(outcome.hooks[0]['drained'])

    def test_verdict_not_drained(self):
        outcome = self.drain('echo \'{"drained": false}\'')

        self.assertTrue(outcome.ok)
        self.assertFalse(outcome.drained)
        self.assertIn('not drained yet', self.logs.output)

    def test_last_json_line_with_drained_is_the_verdict(self):
        outcome = self.drain('echo \'{"drained": false}\'; echo "12 left"; '
                             'echo \'{"drained": true, "left": 0}\'; '
                             'echo "done" >&2')

        self.assertTrue(outcome.drained)

    def test_whole_output_as_json_is_a_verdict(self):
        outcome = self.drain('printf \'{\\n  "drained": false\\n}\\n\'')

        self.assertFalse(outcome.drained)

    def test_invalid_verdict_is_a_hook_error(self):
        error = self.assertRaises(exceptions.HookError, self.drain,
                                  'echo \'{"drained": "maybe"}\'')

        self.assertEqual('verdict', error.reason)
        self.assertIn('"drained" is "maybe", not true or false', str(error))

    def test_point_is_drained_when_every_hook_is(self):
        yes = self.script('echo \'{"drained": true}\'')
        no = self.script('echo \'{"drained": false}\'')

        outcome = self.run_hooks([{'command': [yes]}, {'command': [no]}],
                                 point='drain')

        self.assertFalse(outcome.drained)
        self.assertEqual([True, False], [h['drained']
                                         for h in outcome.hooks])

    def test_no_drain_hook_is_drained(self):
        outcome = hooks.run({}, payload('drain'), 'drain')

        self.assertTrue(outcome.drained)
        self.assertEqual([], outcome.hooks)

    def test_other_points_have_no_verdict(self):
        hook = self.script('echo \'{"drained": false}\'')

        outcome = self.run_hooks([{'command': [hook]}], point='promote')

        self.assertIsNone(outcome.drained)
        self.assertIsNone(outcome.hooks[0]['drained'])


class TestPoint(HookTestCase):

    def logging_hook(self, log, status=0):
        return {'command': [self.script(
            'echo "$GEOFLOWS_HOOK_POINT $GEOFLOWS_SERVER $0" >> "%s"; exit %d'
            % (log, status))]}

    def test_hooks_of_a_point_run_in_order(self):
        log = os.path.join(self.tmp, 'log')
        first, second = self.logging_hook(log), self.logging_hook(log)

        outcome = self.run_hooks([first, second])

        self.assertEqual(['quiesce db-0 %s' % first['command'][0],
                          'quiesce db-0 %s' % second['command'][0]],
                         self.read(log).splitlines())
        self.assertEqual([0, 1], [h['index'] for h in outcome.hooks])

    def test_a_failure_stops_the_point(self):
        log = os.path.join(self.tmp, 'log')

        error = self.failing([self.logging_hook(log, status=1),
                              self.logging_hook(log)])

        self.assertEqual(1, len(self.read(log).splitlines()))
        self.assertEqual(1, error.results['skipped'])
        self.assertEqual(1, len(error.results['hooks']))

    def test_unquiesce_runs_every_hook_despite_failures(self):
        log = os.path.join(self.tmp, 'log')
        hook_list = [self.logging_hook(log, status=1),
                     self.logging_hook(log, status=2),
                     self.logging_hook(log)]

        error = self.failing(hook_list, point='unquiesce')

        self.assertEqual(3, len(self.read(log).splitlines()))
        self.assertIn('hook 1/3', str(error))
        self.assertIn('exit status 1', str(error))
        self.assertIn('(and 1 more of the 3 unquiesce hooks failed)',
                      str(error))
        self.assertEqual([False, False, True],
                         [h['ok'] for h in error.results['hooks']])
        self.assertEqual(0, error.results['skipped'])

    def test_no_hooks_at_the_point(self):
        outcome = hooks.run({'unquiesce': []}, payload(), 'quiesce')

        self.assertTrue(outcome.ok)
        self.assertEqual([], outcome.hooks)
        self.assertFalse(hooks.has_hooks({'unquiesce': []}, 'unquiesce'))

    def test_payload_for_another_point_is_refused(self):
        self.assertRaises(ValueError, hooks.run, {}, payload('quiesce'),
                          'unquiesce')

    def test_unknown_point_is_refused(self):
        self.assertRaises(ValueError, hooks.run, {}, payload(), 'freeze')
        self.assertRaises(ValueError, payload, 'freeze')

    def test_payload_without_server(self):
        data = payload('post_takeover', server=None, drill=True, attempt=2)

        self.assertIsNone(data['server'])
        self.assertEqual('job-1/post_takeover/db', data['key'])
        self.assertTrue(data['drill'])
        self.assertEqual(2, data['attempt'])
        dumped = os.path.join(self.tmp, 'env')
        hook = self.script('echo "[$GEOFLOWS_SERVER] $GEOFLOWS_DRILL" > "$1"')
        hooks.run({'post_takeover': [{'command': [hook, dumped]}]}, data,
                  'post_takeover')
        self.assertEqual('[] true\n', self.read(dumped))

    def test_error_without_server_names_the_vnf_only(self):
        hook = self.script('exit 1')

        error = self.assertRaises(
            exceptions.HookError, hooks.run,
            {'promote': [{'command': [hook]}]},
            payload('promote', server=None), 'promote')

        self.assertIn("for VNF 'db': exit status 1", str(error))

    def test_other_logger(self):
        other = self.useFixture(fixtures.FakeLogger(
            name='geoflows.tasks.hooks', level=logging.INFO))

        self.run_hooks([{'command': ['true']}],
                       log_name='geoflows.tasks.hooks')

        self.assertIn('Running quiesce hook 1/1', other.output)


class TestOrder(HookTestCase):
    """Quiesce in the plan's order, unquiesce in reverse, whatever fails."""

    def setUp(self):
        super().setUp()
        self.log = os.path.join(self.tmp, 'order.log')
        hook = self.script('echo "$GEOFLOWS_HOOK_POINT $GEOFLOWS_SERVER '
                           'reverting=$GEOFLOWS_REVERTING" >> "%s"\n'
                           '[ "$GEOFLOWS_SERVER" != "$FAIL_ON" ]'
                           % self.log)
        self.spec = {point: [{'command': [hook],
                              'env': {'FAIL_ON': 'none'}}]
                     for point in ('quiesce', 'unquiesce')}
        self.servers = [{'name': name, 'id': name, 'site': 'paris'}
                        for name in ('db-2', 'db-0', 'db-1')]

    def point(self, point, server, reverting=False):
        hooks.run(self.spec, payload(point, server=server,
                                     reverting=reverting), point)

    def logged(self):
        return self.read(self.log).splitlines()

    def test_quiesce_in_plan_order_unquiesce_in_reverse(self):
        for server in hooks.quiesce_order(self.servers):
            self.point('quiesce', server)
        for server in hooks.unquiesce_order(self.servers):
            self.point('unquiesce', server)

        self.assertEqual(['quiesce db-2 reverting=false',
                          'quiesce db-0 reverting=false',
                          'quiesce db-1 reverting=false',
                          'unquiesce db-1 reverting=false',
                          'unquiesce db-0 reverting=false',
                          'unquiesce db-2 reverting=false'], self.logged())

    def flow(self, copy_fails):
        """A VNF's flow that keeps the guarantee.

        Quiesce tasks whose revert unquiesces (even after their own
        failure), the copy, then unquiesce tasks.
        """
        case = self

        class Quiesce(task.Task):
            def execute(self, server):
                case.point('quiesce', server)

            def revert(self, server, result, **kwargs):
                # Also on a Failure: a failed quiesce may hold something.
                try:
                    case.point('unquiesce', server, reverting=True)
                except exceptions.HookError:
                    pass  # a real task logs it and reports it

        class Copy(task.Task):
            def execute(self):
                if copy_fails:
                    raise RuntimeError('copy failed')

        class Unquiesce(task.Task):
            def execute(self, server):
                case.point('unquiesce', server)

        flow = linear_flow.Flow('vnf-db')
        for server in hooks.quiesce_order(self.servers):
            flow.add(Quiesce('quiesce-%s' % server['name'],
                             inject={'server': server}))
        flow.add(Copy('copy'))
        for server in hooks.unquiesce_order(self.servers):
            flow.add(Unquiesce('unquiesce-%s' % server['name'],
                               inject={'server': server}))
        return flow

    def test_failed_copy_unquiesces_in_reverse_through_revert(self):
        self.assertRaises(RuntimeError, engines.run, self.flow(True))

        self.assertEqual(['quiesce db-2 reverting=false',
                          'quiesce db-0 reverting=false',
                          'quiesce db-1 reverting=false',
                          'unquiesce db-1 reverting=true',
                          'unquiesce db-0 reverting=true',
                          'unquiesce db-2 reverting=true'], self.logged())

    def test_failed_quiesce_is_unquiesced_too(self):
        for point in ('quiesce', 'unquiesce'):
            self.spec[point][0]['env']['FAIL_ON'] = 'db-1'

        error = self.assertRaises(exceptions.HookError, engines.run,
                                  self.flow(False))

        self.assertIn("server 'db-1'", str(error))
        self.assertEqual(['quiesce db-2 reverting=false',
                          'quiesce db-0 reverting=false',
                          'quiesce db-1 reverting=false',
                          'unquiesce db-1 reverting=true',
                          'unquiesce db-0 reverting=true',
                          'unquiesce db-2 reverting=true'], self.logged())

    def test_copy_that_succeeds_unquiesces_forward(self):
        engines.run(self.flow(False))

        self.assertEqual(['quiesce db-2 reverting=false',
                          'quiesce db-0 reverting=false',
                          'quiesce db-1 reverting=false',
                          'unquiesce db-1 reverting=false',
                          'unquiesce db-0 reverting=false',
                          'unquiesce db-2 reverting=false'], self.logged())

    def test_revert_result_of_a_failed_quiesce_is_a_failure(self):
        # What the tasks' revert sees (convention 4 does not apply here).
        seen = []

        class Quiesce(task.Task):
            def execute(self):
                raise exceptions.HookError('quiesce failed')

            def revert(self, result, **kwargs):
                seen.append(isinstance(result, failure.Failure))

        self.assertRaises(exceptions.HookError, engines.run,
                          linear_flow.Flow('f').add(Quiesce('q')))
        self.assertEqual([True], seen)


def make_certificates(directory):
    """A CA and a server certificate for 127.0.0.1 signed by it.

    Returns the paths of (CA bundle, server certificate, server key).
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            'geoflows test CA')])
    no_usage = dict(content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False,
                    encipher_only=False, decipher_only=False)
    ca = (x509.CertificateBuilder()
          .subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                         critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True,
                                       key_cert_sign=True, crl_sign=True,
                                       **no_usage), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(
              ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(
                NameOID.COMMON_NAME, '127.0.0.1')]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address('127.0.0.1')),
                x509.DNSName('localhost')]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = tuple(os.path.join(directory, name)
                  for name in ('ca.pem', 'server.pem', 'server.key'))
    for path, data in zip(paths, (
            ca.public_bytes(serialization.Encoding.PEM),
            cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))):
        with open(path, 'wb') as f:
            f.write(data)
    return paths


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers by path; records every request on its server."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.server.requests.append({'path': self.path,
                                     'headers': dict(self.headers),
                                     'body': body})
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith('/status/'):
            code = int(path.rsplit('/', 1)[1])
            self.answer(code, b'' if code == 204 else
                        b'detail of %d\nsecond line' % code)
        elif path == '/slow':
            time.sleep(5)
            self.answer(200, b'late')
        elif path == '/redirect':
            self.answer(302, b'', location='/status/200')
        elif path == '/drain/false':
            self.answer(200, b'{"drained": false}')
        elif path.startswith('/echo/'):
            self.answer(int(path.rsplit('/', 1)[1]), (
                'got Authorization: %s' % self.headers.get('Authorization')
            ).encode())
        elif path == '/big':
            self.answer(200, b'y' * 10000000)
        else:
            self.answer(404, b'no such hook')

    def answer(self, code, body, location=None):
        try:
            self.send_response(code)
            if location:
                self.send_header('Location', location)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up (a timeout test)


class Server(fixtures.Fixture):
    """An HTTP server on 127.0.0.1 (HTTPS with ``certificate``)."""

    def __init__(self, certificate=None):
        super().__init__()
        self.certificate = certificate

    def _setUp(self):
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                     Handler)
        self.httpd.requests = []
        scheme = 'http'
        if self.certificate:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.certificate)
            self.httpd.socket = context.wrap_socket(self.httpd.socket,
                                                    server_side=True)
            scheme = 'https'
        thread = threading.Thread(target=self.httpd.serve_forever,
                                  daemon=True)
        thread.start()
        self.addCleanup(self.httpd.server_close)
        self.addCleanup(self.httpd.shutdown)
        self.url = '%s://127.0.0.1:%d' % (scheme,
                                          self.httpd.server_address[1])

    @property
    def paths(self):
        return [r['path'] for r in self.httpd.requests]


class TestWebhook(HookTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(Server())

    def hook(self, path, **kwargs):
        return dict({'webhook': self.server.url + path}, **kwargs)

    def test_payload_is_posted_as_json_with_headers(self):
        outcome = self.run_hooks([self.hook(
            '/status/200', headers={'X-Vnfm-Tenant': 'core'})])

        self.assertTrue(outcome.ok)
        request = self.server.httpd.requests[0]
        self.assertEqual(payload(), json.loads(request['body']))
        self.assertEqual('application/json',
                         request['headers']['Content-Type'])
        self.assertEqual('core', request['headers']['X-Vnfm-Tenant'])
        self.assertEqual('geoflows-hooks', request['headers']['User-Agent'])
        result = outcome.hooks[0]
        self.assertEqual(('webhook', 200, None, 'detail of 200\nsecond line'),
                         (result['kind'], result['http_status'],
                          result['exit_status'], result['output']))
        self.assertEqual(self.server.url + '/status/200', result['target'])

    def test_any_2xx_is_success(self):
        outcome = self.run_hooks([self.hook('/status/204'),
                                  self.hook('/status/202')])

        self.assertEqual([204, 202], [h['http_status']
                                      for h in outcome.hooks])

    def test_client_error_is_a_hook_error(self):
        error = self.failing([self.hook('/status/404')])

        self.assertEqual('http', error.reason)
        self.assertEqual(404, error.result['http_status'])
        self.assertIn('HTTP 404 Not Found; output: detail of 404 | second '
                      'line', str(error))

    def test_server_error_is_a_hook_error(self):
        error = self.failing([self.hook('/status/503')])

        self.assertEqual(
            "quiesce hook 1/1 (webhook %s/status/503) for VNF 'db', server "
            "'db-0': HTTP 503 Service Unavailable; output: detail of 503 | "
            "second line" % self.server.url, str(error))

    def test_timeout(self):
        started = time.monotonic()

        error = self.failing([self.hook('/slow', timeout=1)])

        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual('timeout', error.reason)
        self.assertIn('timeout after 1 s', str(error))

    def test_connection_refused(self):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        sock.close()

        error = self.failing([{'webhook': 'http://127.0.0.1:%d/q' % port}])

        self.assertEqual('connect', error.reason)
        self.assertIn('cannot connect to 127.0.0.1:%d (Connection refused)'
                      % port, str(error))

    def test_redirect_is_not_followed(self):
        error = self.failing([self.hook('/redirect')])

        self.assertEqual('redirect', error.reason)
        self.assertEqual(302, error.result['http_status'])
        self.assertIn('HTTP 302 redirect to %s/status/200 (webhooks are not '
                      'redirected' % self.server.url, str(error))
        self.assertEqual(['/redirect'], self.server.paths)

    def test_big_answer_is_bounded(self):
        result = self.run_hooks([self.hook('/big')]).hooks[0]

        self.assertLessEqual(len(result['output']), hooks.OUTPUT_LIMIT)
        self.assertTrue(result['output'].startswith('yyyy'))

    def test_proxy_settings_of_the_controller_are_not_used(self):
        for name in ('http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'):
            self.useFixture(fixtures.EnvironmentVariable(
                name, 'http://127.0.0.1:9'))
        self.useFixture(fixtures.EnvironmentVariable('NO_PROXY', None))
        self.useFixture(fixtures.EnvironmentVariable('no_proxy', None))

        outcome = self.run_hooks([self.hook('/status/200')])

        self.assertTrue(outcome.ok)

    def test_drain_verdict_in_the_answer(self):
        outcome = self.run_hooks([self.hook('/drain/false')], point='drain')

        self.assertFalse(outcome.drained)

    def test_token_from_a_file_is_sent_and_masked(self):
        token = new_secret('bearer')
        path = os.path.join(self.tmp, 'token')
        with open(path, 'w') as f:
            f.write(token + '\n')
        headers = {'Authorization': {'file': path, 'prefix': 'Bearer '}}

        outcome = self.run_hooks([self.hook('/echo/200', headers=headers)])
        error = self.failing([self.hook('/echo/500', headers=headers)])

        sent = [r['headers']['Authorization']
                for r in self.server.httpd.requests]
        self.assertEqual(['Bearer %s' % token] * 2, sent)
        self.assertEqual('got Authorization: Bearer ***',
                         outcome.hooks[0]['output'])
        self.assertIn('got Authorization: Bearer ***', str(error))
        for text in (json.dumps(outcome.to_dict()), str(error),
                     json.dumps(error.results), self.logs.output):
            self.assertNotIn(token, text)

    def test_url_credentials_and_query_are_not_shown(self):
        url = self.server.url.replace('://', '://user:%s@' % new_secret())
        error = self.failing([{'webhook': url + '/status/500?sig=abc'}])

        self.assertEqual('http', error.reason)
        self.assertEqual(self.server.url + '/status/500?...',
                         error.result['target'])
        self.assertNotIn('user:', str(error))
        self.assertNotIn('sig=abc', str(error))


class TestTLS(HookTestCase):

    def setUp(self):
        super().setUp()
        self.ca, cert, key = make_certificates(self.tmp)
        self.server = self.useFixture(Server(certificate=(cert, key)))
        self.url = self.server.url + '/status/200'

    def test_verification_is_on_by_default(self):
        error = self.failing([{'webhook': self.url}])

        self.assertEqual('tls', error.reason)
        self.assertIn('TLS certificate verify failed (', str(error))
        self.assertIn('); for a private CA, give its bundle with "verify: '
                      'PATH"', str(error))
        self.assertEqual([], self.server.paths)

    def test_ca_bundle_verifies(self):
        outcome = self.run_hooks([{'webhook': self.url, 'verify': self.ca}])

        self.assertEqual(200, outcome.hooks[0]['http_status'])
        self.assertEqual(['/status/200'], self.server.paths)

    def test_verification_off(self):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            outcome = self.run_hooks([{'webhook': self.url,
                                       'verify': False}])

        self.assertTrue(outcome.ok)

    def test_missing_ca_bundle(self):
        missing = os.path.join(self.tmp, 'missing.pem')

        error = self.failing([{'webhook': self.url, 'verify': missing}])

        self.assertEqual('tls', error.reason)
        self.assertIn(missing, str(error))


def problems(spec):
    return hooks.spec_problems(spec)


class TestSpecProblems(base.TestCase):

    def test_valid_spec_has_none(self):
        spec = {
            'quiesce': [
                {'command': ['/opt/hooks/freeze', '--mount', '/data'],
                 'timeout': 30,
                 'env': {'MODE': 'flush',
                         'DB_PASSWORD': {'env': 'DB_PASSWORD'}}},
                {'command': ['freeze-app']},
                {'webhook': 'https://vnfm.example.net/hooks/quiesce?vnf=db',
                 'verify': '/etc/ssl/vnfm-ca.pem',
                 'headers': {'Authorization': {'file': '~/vnfm.token',
                                               'prefix': 'Bearer '},
                             'X-Tenant': 'core'}},
            ],
            'unquiesce': [{'command': ['/opt/hooks/thaw']}],
        }

        self.assertEqual([], problems(spec))
        self.assertEqual([], hooks.spec_warnings(spec))

    def test_relative_command_path(self):
        self.assertEqual([('quiesce', 0, 'command', 0)], [
            p for p, _m in problems({'quiesce': [
                {'command': ['./hooks/freeze']}]})])

    def test_secret_in_an_argument(self):
        found = problems({'drain': [
            {'command': ['/opt/check', '--api-key=abc123', '--count=3']}]})

        self.assertEqual([('drain', 0, 'command', 1)], [p for p, _m in found])
        self.assertIn('never written in a plan', found[0][1])

    def test_secret_variable_in_clear(self):
        found = problems({'quiesce': [
            {'command': ['/opt/q'], 'env': {'DB_PASSWORD': 'hunter2',
                                            'API_TOKEN': 'abc',
                                            'TOKEN_URL': 'https://x'}}]})

        self.assertEqual([('quiesce', 0, 'env', 'API_TOKEN'),
                          ('quiesce', 0, 'env', 'DB_PASSWORD')],
                         [p for p, _m in found])

    def test_reserved_variable(self):
        found = problems({'quiesce': [
            {'command': ['/opt/q'], 'env': {'GEOFLOWS_VNF': 'x'}}]})

        self.assertEqual([('quiesce', 0, 'env', 'GEOFLOWS_VNF')],
                         [p for p, _m in found])

    def test_secret_source_problems(self):
        found = problems({'quiesce': [
            {'command': ['/opt/q'],
             'env': {'A': {'file': 'relative.token'}}},
            {'webhook': 'https://h/q',
             'headers': {'Authorization': {'env': 'T', 'file': '/t'}}}]})

        self.assertEqual([('quiesce', 0, 'env', 'A', 'file'),
                          ('quiesce', 1, 'headers', 'Authorization')],
                         [p for p, _m in found])

    def test_url_problems(self):
        cases = {
            'ftp://host/q': 'the URL must be http or https',
            'https:///q': 'has no host',
            'https://user:pw@host/q': 'credentials in the URL',
            'https://host/q?access_token=abc': "'access_token' looks like",
            'https://host:port/q': 'is not a valid URL',
        }
        for url, expected in cases.items():
            found = problems({'quiesce': [{'webhook': url}]})
            self.assertEqual([('quiesce', 0, 'webhook')],
                             [p for p, _m in found], url)
            self.assertIn(expected, found[0][1])

    def test_header_problems(self):
        found = problems({'promote': [{'webhook': 'https://h/p', 'headers': {
            'Authorization': 'Bearer abc',
            'X-Auth-Token': 'abc',
            'X-Custom': 'Basic dXNlcjpwdw==',
            'Content-Type': 'text/plain',
            'X-Tenant': 'core'}}]})

        self.assertEqual([('promote', 0, 'headers', name) for name in (
            'Authorization', 'Content-Type', 'X-Auth-Token', 'X-Custom')],
            [p for p, _m in found])

    def test_relative_ca_bundle(self):
        found = problems({'quiesce': [{'webhook': 'https://h/q',
                                       'verify': 'ca.pem'}]})

        self.assertEqual([('quiesce', 0, 'verify')], [p for p, _m in found])

    def test_schema_invalid_hooks_are_left_to_the_schema(self):
        self.assertEqual([], problems({'quiesce': [{}, {'command': [1]},
                                                   'x', {'webhook': 3}]}))

    def test_warnings(self):
        warned = hooks.spec_warnings({'quiesce': [
            {'webhook': 'https://h/q', 'verify': False},
            {'webhook': 'http://vnfm.example.net/q',
             'headers': {'Authorization': {'env': 'T'}}},
            {'webhook': 'http://127.0.0.1:8080/q'},
            {'webhook': 'http://127.0.0.1:8080/q', 'verify': '/ca.pem'}]})

        self.assertEqual([('quiesce', 0, 'verify'),
                          ('quiesce', 1, 'webhook'),
                          ('quiesce', 3, 'verify'),
                          ('quiesce',)], [p for p, _m in warned])
        self.assertIn('TLS verification is off', warned[0][1])
        self.assertIn('header Authorization travel unencrypted',
                      warned[1][1])
        self.assertIn('no unquiesce hook', warned[3][1])


class TestSchema(base.TestCase):

    def setUp(self):
        super().setUp()
        self.validator = jsonschema.Draft202012Validator(hooks.schema())

    def errors(self, spec):
        return sorted(e.message for e in self.validator.iter_errors(spec))

    def test_schema_is_valid(self):
        jsonschema.Draft202012Validator.check_schema(hooks.schema())

    def test_valid_hooks(self):
        self.assertEqual([], self.errors({
            'quiesce': [{'command': ['/q', ''], 'timeout': 1,
                         'env': {'A': 'x', 'B': {'file': '/b'}}}],
            'drain': [{'webhook': 'HTTPS://h/d', 'timeout': 3600,
                       'verify': False,
                       'headers': {'X-A': 'a',
                                   'Authorization': {'env': 'T',
                                                     'prefix': 'Bearer '}}}],
            'promote': []}))

    def test_invalid_hooks(self):
        cases = [
            {'freeze': []},
            {'quiesce': [{}]},
            {'quiesce': [{'command': []}]},
            {'quiesce': [{'command': ['']}]},
            {'quiesce': [{'command': ['/q'], 'webhook': 'https://h'}]},
            {'quiesce': [{'command': ['/q'], 'timeout': 0}]},
            {'quiesce': [{'webhook': 'https://h', 'timeout': 3601}]},
            {'quiesce': [{'webhook': 'ftp://h'}]},
            {'quiesce': [{'webhook': 'https://h', 'verify': ''}]},
            {'quiesce': [{'command': ['/q'], 'env': {'A': 1}}]},
            {'quiesce': [{'command': ['/q'], 'env': {'1A': 'x'}}]},
            {'quiesce': [{'command': ['/q'], 'env': {'A': {'derive': True}}}]},
            {'quiesce': [{'webhook': 'https://h',
                          'headers': {'A': {'prefix': 'Bearer '}}}]},
            {'quiesce': [{'webhook': 'https://h',
                          'headers': {'Bad Name': 'x'}}]},
        ]
        for spec in cases:
            self.assertNotEqual([], self.errors(spec), spec)

    def test_a_hook_without_webhook_is_checked_as_a_command(self):
        self.assertEqual(["'command' is a required property"],
                         self.errors({'quiesce': [{'timeout': 5}]}))

    def test_plan_schema_can_refer_to_the_hooks(self):
        plan_like = {
            '$schema': 'https://json-schema.org/draft/2020-12/schema',
            '$id': 'https://geoflows.dev/schemas/plan-v1.schema.json',
            'type': 'object',
            'properties': {'hooks': {
                '$ref': 'hooks.schema.json#/$defs/hooks'}},
        }
        registry = referencing.Registry().with_resource(
            hooks.schema()['$id'],
            referencing.Resource.from_contents(hooks.schema()))
        validator = jsonschema.Draft202012Validator(plan_like,
                                                    registry=registry)

        self.assertTrue(validator.is_valid(
            {'hooks': {'quiesce': [{'command': ['/q']}]}}))
        self.assertFalse(validator.is_valid(
            {'hooks': {'quiesce': [{'command': './q'}]}}))


class TestOptions(base.TestCase):

    def test_defaults_are_the_module_defaults(self):
        options = hooks.options_from_config(conf.CONF)

        self.assertEqual({'output_limit': hooks.OUTPUT_LIMIT,
                          'pass_env': list(hooks.PASS_ENV)}, options)


class TestExamples(HookTestCase):
    """The user guide's examples, run as written."""

    def fake_ssh(self, answers):
        """An ssh stand-in: logs its arguments, answers from ``answers``.

        ``answers`` maps the remote command to (output, status).
        """
        log = os.path.join(self.tmp, 'ssh.log')
        lines = ['echo "$*" >> "%s"' % log, 'shift', 'case "$*" in']
        for command, (output, status) in answers.items():
            lines.append("'%s') echo '%s'; exit %d ;;"
                         % (command, output, status))
        lines += ['esac', 'echo "unexpected: $*" >&2', 'exit 255']
        return self.script('\n'.join(lines)), log

    def test_payload_document(self):
        with open(os.path.join(EXAMPLES, 'payload.json')) as f:
            documented = json.load(f)

        self.assertEqual(documented, hooks.make_payload(
            'quiesce', 'telco-east',
            {'name': 'hss', 'priority': 1, 'standby': 'warm'},
            '3f6c1d2e-8a4b-4e0f-9c53-0d2a7b1e5f44', group='core',
            server={'name': 'hss-db-0',
                    'id': '9b1e0c62-51f0-4a8e-b7d3-2c6f4e8a1d05',
                    'site': 'paris'}))

    def test_fsfreeze_hook_is_idempotent(self):
        busy = 'fsfreeze: /data: freeze failed: Device or resource busy'
        not_frozen = 'fsfreeze: /data: unfreeze failed: Invalid argument'
        ssh, log = self.fake_ssh({
            'sudo fsfreeze --freeze /data': ('', 0),
            'sudo fsfreeze --unfreeze /data': (not_frozen, 1)})
        spec = {point: [{'command': [os.path.join(EXAMPLES, 'fsfreeze.sh')],
                         'env': {'FREEZE_SSH': ssh}}]
                for point in ('quiesce', 'unquiesce')}

        frozen = hooks.run(spec, payload('quiesce'), 'quiesce')
        thawed = hooks.run(spec, payload('unquiesce'), 'unquiesce')

        self.assertEqual('quiesce db-0:/data: done\n',
                         frozen.hooks[0]['output'])
        self.assertEqual('unquiesce db-0:/data: already done\n',
                         thawed.hooks[0]['output'])
        self.assertEqual(['db-0 sudo fsfreeze --freeze /data',
                          'db-0 sudo fsfreeze --unfreeze /data'],
                         self.read(log).splitlines())
        ssh, _log = self.fake_ssh({'sudo fsfreeze --freeze /data':
                                   (busy, 1)})
        spec['quiesce'][0]['env']['FREEZE_SSH'] = ssh
        again = hooks.run(spec, payload('quiesce'), 'quiesce')
        self.assertEqual('quiesce db-0:/data: already done\n',
                         again.hooks[0]['output'])

    def test_fsfreeze_hook_failure(self):
        ssh, _log = self.fake_ssh({'sudo fsfreeze --freeze /data':
                                   ('sudo: a password is required', 1)})
        spec = {'quiesce': [{'command': [
            os.path.join(EXAMPLES, 'fsfreeze.sh')],
            'env': {'FREEZE_SSH': ssh}}]}

        error = self.assertRaises(exceptions.HookError, hooks.run, spec,
                                  payload('quiesce'), 'quiesce')

        self.assertIn('exit status 1; output: quiesce db-0:/data failed: '
                      'sudo: a password is required', str(error))

    def test_drain_hook(self):
        for sessions, drained in (('3', False), ('0', True)):
            ssh, _log = self.fake_ssh({
                'cat /run/vnf/active-sessions': (sessions, 0)})
            spec = {'drain': [{'command': [
                os.path.join(EXAMPLES, 'drain-sessions.sh')],
                'env': {'DRAIN_SSH': ssh}}]}

            outcome = hooks.run(spec, payload('drain'), 'drain')

            self.assertEqual(drained, outcome.drained)
            self.assertIn('db-0: %s active sessions' % sessions,
                          outcome.hooks[0]['output'])
