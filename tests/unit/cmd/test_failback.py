"""reprotect and failback commands, in-process.

The sample VNFs run at the fake site paris, are taken over at lyon, then
given back (see tests/unit/test_failback_jobs.py for the jobs themselves).
"""

import sys

import hypothesis
from hypothesis import strategies as st

from geoflows.cmd import failback as failback_cmd
from geoflows import exceptions
from geoflows import failback
from tests.unit import base
from tests.unit.cmd import test_takeover


class FailbackCommandTestCase(test_takeover.TakeoverCommandTestCase):

    def setUp(self):
        super().setUp()
        job = self.disaster()
        self.assertEqual('SUCCESS', job['state'], job['error'])


class TestReprotectThenFailback(FailbackCommandTestCase):

    def test_back_and_forth(self):
        job = self.json('reprotect', '--plan', self.plan)
        self.assertEqual('SUCCESS', job['state'], job['error'])
        self.assertRegex(job['sync'], r'^[0-9a-f-]+ SUCCESS$')
        rows = self.status(0, '--no-dr-site')
        self.assertEqual({'lyon -> paris'}, {r['Replicates'] for r in rows})
        listed = self.json('checkpoint', 'list')
        self.assertEqual(('lyon', 'paris'), (listed[0]['From'],
                                             listed[0]['At']))

        job = self.json('failback', '--plan', self.plan, '--drain-time',
                        '0')
        self.assertEqual('SUCCESS', job['state'], job['error'])
        self.assertRegex(job['sync'], r'^[0-9a-f-]+ SUCCESS$')
        rows = {row['vnf']: row for row in job['report']}
        self.assertEqual({'hss', 'pgw', 'fw'}, set(rows))
        for row in rows.values():
            self.assertLessEqual(row['origin_ready'], row['serving_at'])
            self.assertLessEqual(row['serving_at'], row['seconds'])
        rows = self.status(0, '--no-dr-site')
        self.assertEqual({'paris -> lyon'}, {r['Replicates'] for r in rows})
        out, _err = self.verify()
        self.assertIn('no difference', out)
        _out, err = self.geoflows('failback', '--plan', self.plan, expect=1)
        self.assertIn('reprotect it after its takeover', err)

    def test_the_origin_stage_then_the_rest(self):
        self.json('reprotect', '--plan', self.plan, '--no-sync')
        _out, err = self.geoflows('failback', '--plan', self.plan, expect=1)
        self.assertIn('has no checkpoint from its DR site yet', err)
        self.json('sync', '--plan', self.plan)
        job = self.json('failback', '--plan', self.plan, '--stage',
                        'origin', '--drain-time', '0')
        self.assertEqual('SUCCESS', job['state'], job['error'])
        self.assertNotIn('sync', job)
        self.assertEqual(['edge'], [c.name for c in
                                    self.lyon.network.sfc_port_chains()])
        job = self.json('failback', '--plan', self.plan, '--stage',
                        'delink', '--drain-time', '0', '--no-sync')
        self.assertEqual('SUCCESS', job['state'], job['error'])
        self.assertEqual([], list(self.lyon.network.sfc_port_chains()))


class TestRefusals(FailbackCommandTestCase):

    def test_arguments(self):
        for argv, message in (
                (('--drain-time', '-1'), 'is not a drain time'),
                (('--drain-time', 'soon'), 'is not a drain time'),
                (('--drain-time', '1e9'), 'is not a drain time'),
                (('--stage', 'half'), "invalid choice: 'half'"),
                (('--', 'Core!'), 'is not a protection group name'),
                (('--', 'x' * 100000), 'is not a protection group name')):
            self.assertRaises(SystemExit, self.geoflows, 'failback',
                              '--plan', self.plan, *argv)
            self.assertIn(message, sys.stderr.getvalue())
            self.assertLess(len(sys.stderr.getvalue()), 2000)
            sys.stderr.seek(0)
            sys.stderr.truncate()
        _out, err = self.geoflows('reprotect', '--plan', self.plan, '--to',
                                  'mars', expect=1)
        self.assertIn("'mars' is not a site of plan", err)
        _out, err = self.geoflows('reprotect', '--plan', self.plan, '--to',
                                  'lyon', expect=1)
        self.assertIn('cannot replicate to itself', err)
        self.assertEqual([], [j for j in self.json('job', 'list')
                              if j['Operation'] in ('reprotect',
                                                    'failback')])


class TestBounds(base.TestCase):

    @hypothesis.given(value=st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(),
        st.text(max_size=20), st.lists(st.integers(), max_size=2)))
    @hypothesis.settings(max_examples=200, deadline=None)
    def test_drain_time_is_seconds_within_an_hour(self, value):
        ok = not isinstance(value, bool) and isinstance(
            value, (int, float)) and 0 <= value <= failback.MAX_DRAIN_TIME
        if value is None:
            ok = True  # the default
        try:
            found = failback.failback_params('all', value)
        except exceptions.GeoflowsError:
            self.assertFalse(ok, value)
            return
        self.assertTrue(ok, value)
        self.assertEqual(value, found.get('drain_time'))

    @hypothesis.given(text=st.text(max_size=30))
    @hypothesis.settings(max_examples=200, deadline=None)
    def test_drain_time_argument(self, text):
        import argparse
        try:
            value = failback_cmd.drain_seconds(text)
        except argparse.ArgumentTypeError as e:
            self.assertIn('is not a drain time', str(e))
            return
        self.assertTrue(0 <= value <= failback.MAX_DRAIN_TIME)

    @hypothesis.given(stage=st.one_of(st.text(max_size=10), st.none(),
                                      st.integers()))
    @hypothesis.settings(max_examples=100, deadline=None)
    def test_stage_is_one_of_three(self, stage):
        try:
            found = failback.failback_params(stage)
        except exceptions.GeoflowsError as e:
            self.assertNotIn(stage, failback.STAGES)
            self.assertIn('is not one of', str(e))
            return
        self.assertEqual(stage, found['stage'])
