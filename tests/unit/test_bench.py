"""The runner's benchmark: its cases, its command, its errors."""

import fixtures

from geoflows import bench
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
