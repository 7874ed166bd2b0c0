"""The runner's benchmark: its cases, its command, its errors."""

import os

import fixtures

from geoflows import bench
from geoflows import bench_takeover
from tests.unit import base
from tests.unit.cmd import test_plan


class TestLowerBound(base.TestCase):

    def test_calls_bound_when_the_site_is_the_bottleneck(self):
        # 1000 VNFs x 5 calls of 0.1 s, 64 at once.
        self.assertAlmostEqual(7.8125, bench.lower_bound(1000, 5, 0.1, 64))

    def test_chain_bounds_when_few_vnfs(self):
        self.assertAlmostEqual(0.5, bench.lower_bound(3, 5, 0.1, 64))


class TestCases(base.TestCase):

    def test_geoflows_case_makes_every_call_once(self):
        result = bench.run_case('geoflows', 6, 3, 0.01, 2, 'sqlite')

        self.assertEqual('SUCCESS', result['state'])
        self.assertEqual(18, result['calls'])
        # Every step event of every unit: RUNNING and SUCCESS.
        self.assertEqual(36, result['events'])
        self.assertGreater(result['writes'], 0)
        # The fake site serves 2 calls at once: no runner beats the bound.
        self.assertGreaterEqual(result['ratio'], 1.0)
        self.assertGreater(result['peak_mib'], 0)

    def test_baseline_case_makes_every_call_once(self):
        result = bench.run_case('baseline', 4, 2, 0.0, 2, 'sqlite')

        self.assertEqual('SUCCESS', result['state'])
        self.assertEqual(8, result['calls'])

    def test_resume_case_finishes_the_killed_job(self):
        result = bench.run_resume_case(20, 2, 0.005, 2, 'sqlite',
                                       kill_after=0.25)

        self.assertEqual('SUCCESS', result['state'])
        self.assertGreaterEqual(result['killed_after_units'], 5)
        # Units finished before the kill are not run again.
        self.assertLessEqual(result['calls'], 2 * (20 - 5))
        self.assertGreater(result['first_call_after_start'],
                           result['first_call_after_resume'])

    def test_unknown_store_is_refused(self):
        error = self.assertRaises(bench.BenchError, bench.run_case,
                                  'geoflows', 1, 1, 0.0, 1, 'oracle')
        self.assertIn("unknown state store 'oracle'", str(error))


class TestBenchCommand(test_plan.PlanCommandTestCase):

    def test_prints_a_row_per_case(self):
        code = self.geoflows('bench', '--vnfs', '3,5', '--steps', '2',
                             '--latency', '0', '--cap', '2', '--stores',
                             'sqlite', '--baseline-max', '3', '-f', 'csv')

        self.assertEqual(0, code)
        rows = [line.split(',') for line in self.output_lines()[1:]]
        self.assertEqual([('"geoflows"', '"sqlite"', '3'),
                          ('"baseline"', '"sqlite"', '3'),
                          ('"geoflows"', '"sqlite"', '5')],
                         [tuple(row[:3]) for row in rows])
        self.assertEqual({'"SUCCESS"'}, {row[-1] for row in rows})
        self.assertIn('CPU cores', self.stderr.getvalue())

    def test_bad_vnf_counts_are_named(self):
        self.assertEqual(1, self.geoflows('bench', '--vnfs', '10,ten'))
        self.assertIn("--vnfs '10,ten': give positive numbers",
                      self.stderr.getvalue())
        self.assertNoTraceback()

    def test_unknown_store_is_named(self):
        self.assertEqual(1, self.geoflows('bench', '--stores', 'mysql'))
        self.assertIn("--stores 'mysql': use some of sqlite, postgresql",
                      self.stderr.getvalue())

    def test_unreachable_postgresql_is_named_without_its_password(self):
        self.useFixture(fixtures.EnvironmentVariable('PGCONNECT_TIMEOUT',
                                                     '2'))
        code = self.geoflows(
            'bench', '--vnfs', '1', '--stores', 'postgresql', '--postgresql',
            'postgresql+psycopg2://bob:hunter22@127.0.0.1:1/postgres')

        self.assertEqual(1, code)
        error = self.stderr.getvalue()
        self.assertIn('cannot create a database on the PostgreSQL server '
                      'postgresql+psycopg2://bob:***@127.0.0.1:1/postgres',
                      error)
        self.assertIn('--stores sqlite', error)
        self.assertNotIn('hunter22', error)
        self.assertNoTraceback()

    def test_postgresql_url_that_is_not_one_is_named(self):
        code = self.geoflows('bench', '--vnfs', '1', '--stores', 'postgresql',
                             '--postgresql', 'localhost:5432')

        self.assertEqual(1, code)
        self.assertIn("--postgresql: 'localhost:5432' is not a database URL",
                      self.stderr.getvalue())

    def test_missing_postgresql_driver_is_named(self):
        code = self.geoflows(
            'bench', '--vnfs', '1', '--stores', 'postgresql', '--postgresql',
            'postgresql+nosuchdriver://bob:hunter22@127.0.0.1/postgres')

        self.assertEqual(1, code)
        error = self.stderr.getvalue()
        self.assertIn('install psycopg2-binary, or leave PostgreSQL out',
                      error)
        self.assertNotIn('hunter22', error)


class TestCliBench(test_plan.PlanCommandTestCase):

    def test_times_each_command_as_a_process(self):
        code = self.geoflows('bench', '--cli', '--runs', '1', '-f', 'csv')

        self.assertEqual(0, code, self.stderr.getvalue())
        header, *rows = [line.split(',') for line in self.output_lines()]
        self.assertEqual(['"Command"', '"Runs"', '"Wall median (s)"',
                          '"Wall max (s)"', '"CPU median (s)"',
                          '"CPU max (s)"', '"Exit"'], header)
        self.assertEqual(['"geoflows --version"', '"geoflows --help"',
                          '"geoflows plan validate PLAN"',
                          '"geoflows job list"', '"geoflows job show JOB"'],
                         [row[0] for row in rows])
        # Every command exited 0, in every run.
        self.assertEqual({'"0"'}, {row[-1] for row in rows})
        self.assertEqual({'1'}, {row[1] for row in rows})
        for row in rows:
            wall_median, wall_max, cpu_median, cpu_max = map(float,
                                                             row[2:6])
            self.assertGreater(wall_median, 0)
            self.assertLessEqual(wall_median, wall_max)
            self.assertLessEqual(cpu_median, cpu_max)
        self.assertIn('reference: sum(range(10**7)) takes',
                      self.stderr.getvalue())

    def test_a_failing_command_is_shown_with_its_exit_code(self):
        fake = os.path.join(self.tmp, 'geoflows')
        with open(fake, 'w') as f:
            f.write('#!/bin/sh\necho "no luck with $1" >&2\nexit 3\n')
        os.chmod(fake, 0o755)
        code = self.geoflows('bench', '--cli', '--runs', '1', '--geoflows',
                             fake, '-f', 'csv')

        self.assertEqual(0, code)
        rows = [line.split(',') for line in self.output_lines()[1:]]
        self.assertEqual({'"3"'}, {row[-1] for row in rows})
        self.assertIn('geoflows --version failed:\nno luck with --version',
                      self.stderr.getvalue())

    def test_an_invalid_plan_is_named(self):
        plan = self.write_plan('version: 1\nname: broken\n')
        code = self.geoflows('bench', '--cli', '--runs', '1', '--plan', plan)

        # The jobs for "job list" and "job show" come from the plan.
        self.assertEqual(1, code)
        self.assertIn('is not a valid plan', self.stderr.getvalue())
        self.assertNoTraceback()

    def test_at_least_one_run(self):
        self.assertEqual(1, self.geoflows('bench', '--cli', '--runs', '0'))
        self.assertIn('--runs must be at least 1', self.stderr.getvalue())


class TestTakeoverBound(base.TestCase):

    def test_priorities_are_spread_in_nearly_equal_slices(self):
        self.assertEqual([2, 2, 2, 2, 2], bench_takeover.group_sizes(10, 5))
        self.assertEqual([3, 2, 2], bench_takeover.group_sizes(7, 3))

    def test_bound_sums_over_the_priorities(self):
        # 1000 VNFs of 15 calls of 0.1 s, 64 at once, in 5 priorities of
        # 200: each takes 200 * 15 * 0.1 / 64 s.
        self.assertAlmostEqual(
            5 * 4.6875, bench_takeover.lower_bound([200] * 5, 15, 0.1, 64))

    def test_a_small_priority_is_bound_by_its_chain(self):
        # 2 VNFs of 15 calls: 1.5 s however many calls the site serves.
        self.assertAlmostEqual(
            1.5 + 200 * 15 * 0.1 / 64,
            bench_takeover.lower_bound([2, 200], 15, 0.1, 64))


def _step(unit, name, start, end):
    return {'unit': 'bench/' + unit, 'name': name, 'started_at': start,
            'finished_at': end}


class TestPriorityViolations(base.TestCase):

    def test_a_vnf_that_starts_before_the_previous_priority_is_named(self):
        steps = [_step('vnf-00000', 'port', 0, 1),
                 _step('vnf-00000', 'ready', 1, 5),
                 _step('vnf-00001', 'port', 4, 6),  # priority 2, before 5
                 _step('vnf-00001', 'ready', 6, 7)]
        self.assertEqual([('vnf-00001', 'vnf-00000')],
                         bench_takeover.priority_violations(steps, 2, 2))

    def test_a_vnf_that_waited_is_not(self):
        steps = [_step('vnf-00000', 'ready', 1, 5),
                 _step('vnf-00001', 'port', 5, 6),
                 _step('vnf-00001', 'ready', 6, 7)]
        self.assertEqual([], bench_takeover.priority_violations(steps, 2, 2))


class TestTakeoverCases(base.TestCase):

    def test_geoflows_takes_every_vnf_over_in_priority_order(self):
        result = bench_takeover.run_case('geoflows', 6, 3, 0.002, 4)

        self.assertEqual('SUCCESS', result['state'])
        self.assertEqual(6, result['servers'])
        self.assertTrue(result['order_kept'])
        # k is counted: more than the few calls of a VNF's server and port.
        self.assertGreater(result['k'], 4)
        self.assertEqual(result['calls'] / 6.0, result['k'])
        self.assertAlmostEqual(bench_takeover.lower_bound(
            [2, 2, 2], result['k'], 0.002, 4), result['lower_bound'])
        self.assertEqual(result['cpu'] / result['calls'],
                         result['cpu_per_call'])
        self.assertGreater(result['cloud_cpu'], 0)  # left out of 'cpu'

    def test_baseline_makes_the_same_vnfs(self):
        result = bench_takeover.run_case('baseline', 4, 2, 0.0, 4)

        self.assertEqual('SUCCESS', result['state'])
        self.assertEqual(4, result['servers'])
        self.assertGreater(result['k'], 4)


class TestTakeoverCommand(test_plan.PlanCommandTestCase):

    def test_prints_a_row_per_runner_with_the_reference(self):
        code = self.geoflows('bench', '--takeover', '--vnfs', '4',
                             '--priorities', '2', '--latency', '0',
                             '--cap', '4', '-f', 'csv')

        self.assertEqual(0, code, self.stderr.getvalue())
        lines = self.output_lines()
        self.assertEqual(
            ['"VNFs"', '"Runner"', '"Wall (s)"', '"Lower bound (s)"',
             '"Ratio"', '"Calls/VNF"', '"CPU/VNF (ms)"', '"CPU/call (ms)"',
             '"Cloud CPU/call (ms)"', '"Peak (MiB)"', '"Reference (ms)"',
             '"Load"', '"Order kept"',
             '"State"'], lines[0].split(','))
        rows = [line.split(',') for line in lines[1:]]
        self.assertEqual([('4', '"geoflows"'), ('4', '"baseline"')],
                         [tuple(row[:2]) for row in rows])
        self.assertEqual(['"yes"', '"-"'], [row[-2] for row in rows])
        self.assertEqual({'"SUCCESS"'}, {row[-1] for row in rows})
        self.assertGreater(float(rows[0][10]), 0)  # the reference, in ms
        self.assertIn('sum(range(10**7))', self.stderr.getvalue())

    def test_fewer_vnfs_than_priorities_is_refused(self):
        self.assertEqual(1, self.geoflows('bench', '--takeover', '--vnfs',
                                          '3', '--priorities', '5'))
        self.assertIn('at least --priorities', self.stderr.getvalue())
        self.assertNoTraceback()
