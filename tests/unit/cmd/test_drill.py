"""drill, drill list and drill cleanup commands, in-process.

The sample VNFs run at the fake site paris, protected at lyon, and are
rehearsed there in an isolated copy (see tests/unit/test_drill_jobs.py for
the drill jobs themselves).
"""

import argparse
import re
import sys

import hypothesis
from hypothesis import strategies as st

from geoflows.cmd import drill as drill_cmd
from tests.unit import base
from tests.unit.cmd import test_takeover


class DrillCommandTestCase(test_takeover.TakeoverCommandTestCase):

    def drill(self, *options, expect=0):
        return self.json('drill', '--plan', self.plan, *options,
                         expect=expect)

    def listed(self, *options):
        return self.json('drill', 'list', *options)

    def refused(self, *argv):
        """The message of an argument argparse refuses (exit 2)."""
        sys.stderr.seek(0)
        sys.stderr.truncate()
        e = self.assertRaises(SystemExit, self.geoflows, *argv)
        self.assertEqual(2, e.code)
        message = sys.stderr.getvalue()
        self.assertLess(len(message), 2000)
        self.assertNotIn('Traceback', message)
        return message


class TestDrillCommand(DrillCommandTestCase):

    def test_the_report_per_vnf_as_a_table(self):
        out, err = self.geoflows('drill', '--plan', self.plan)
        self.assertIn('drill of plan', err)
        self.assertRegex(out, r'\| core +\| hss +\| 1 +\| hot +\| yes +\|')
        for vnf in ('pgw', 'fw'):
            self.assertRegex(out, r'\| core +\| %s +\| 2 +\| \w+ +\| yes '
                                  r'+\|' % vnf)
        self.assertIn('RTO target', out)
        self.assertRegex(out, r'core: as checkpoint [0-9a-f-]+ says')
        # Removed at its end: nothing listed.
        self.assertEqual([], self.listed())
        [done] = self.listed('--all')
        self.assertEqual(('core', 'lyon', 'removed', '-', 'clean'),
                         (done['Group'], done['Site'], done['State'],
                          done['Kept until'], done['Verify']))

    def test_the_status_shows_what_the_drill_measured(self):
        rows = self.status(0, '--no-dr-site')
        self.assertEqual({'never rehearsed'}, {r['Rehearsal'] for r in rows})
        self.assertEqual({None}, {r['Drill RTO (s)'] for r in rows})
        job = self.drill()
        self.assertEqual('SUCCESS', job['state'], job['error'])
        measured = {row['vnf']: row['rto'] for row in job['report']}
        rows = self.status(0, '--no-dr-site')
        self.assertEqual(measured, {r['VNF']: r['Drill RTO (s)']
                                    for r in rows})
        for row in rows:
            self.assertRegex(row['Rehearsal'], r'^rehearsed \d{4}-')
            self.assertEqual(row['Rehearsal'], 'rehearsed %s'
                             % row['Drilled at'])
            self.assertEqual(900, row['RTO target (s)'])
            self.assertGreater(row['Predicted RTO (s)'], 0)
            self.assertEqual('yes', row['Predicted RTO met'])
        # The plan changed since: the status says so, on stderr too.
        self.plan = self.write_plan(rto='20m')  # not the VNFs: the same
        rows = self.status(0, '--no-dr-site')
        self.assertEqual({True}, {r['Rehearsal'].startswith('rehearsed ')
                                  for r in rows})
        self.plan = self.write_plan(hooks={'pgw': {'post_takeover': [
            {'command': ['/bin/true']}]}})
        _out, err = self.geoflows('protection', 'status', '--plan',
                                  self.plan, '--no-dr-site')
        self.assertIn('group core: not rehearsed since ', err)
        self.assertIn('geoflows drill --plan', err)

    def test_keep_then_list_then_cleanup(self):
        job = self.drill('--keep-for', '30m')
        self.assertEqual('SUCCESS', job['state'], job['error'])
        [copy] = self.listed()
        self.assertEqual((job['id'], 'test', 'core', 'lyon', 'present',
                          'clean'),
                         (copy['Drill'], copy['Plan'], copy['Group'],
                          copy['Site'], copy['State'], copy['Verify']))
        self.assertRegex(copy['Age'], r'^\d+s$')
        self.assertRegex(copy['Kept until'], r'^\d{4}-\d\d-\d\dT')
        self.assertEqual([copy], self.listed('--plan-name', 'test'))
        self.assertEqual([], self.listed('--plan-name', 'other'))
        out, _err = self.geoflows('drill', 'list')
        self.assertIn(job['id'], out)
        self.assertIn('Kept until', out)
        # The copy is at lyon, named gfd-TAG-...
        self.assertTrue([s for s in self.lyon.compute.servers()
                         if s.name == 'fw-1'])
        self.assertTrue([n for n in self.lyon.network.networks()
                         if n.name.startswith('gfd-')])
        cleanup = self.json('drill', 'cleanup', job['id'][:8])
        self.assertEqual('SUCCESS', cleanup['state'], cleanup['error'])
        self.assertEqual('drill.cleanup', cleanup['operation'])
        self.assertEqual([], self.listed())
        self.assertEqual([], [n for n in self.lyon.network.networks()
                              if n.name.startswith('gfd-')])
        _out, err = self.geoflows('drill', 'cleanup', job['id'], expect=1)
        self.assertIn('has no copy left to remove', err)

    def test_keep_for_the_longest_time_allowed(self):
        job = self.drill('--keep')
        self.assertEqual('SUCCESS', job['state'], job['error'])
        [copy] = self.listed()
        self.assertNotEqual('-', copy['Kept until'])
        self.json('drill', 'cleanup', job['id'])
        self.assertEqual([], self.listed())


class TestRefusals(DrillCommandTestCase):

    def test_keep_for(self):
        for value, message in (
                ('0', 'is not a keep time from 1 second to 30 days'),
                ('-1', 'is not a duration'),
                ('99999999d', 'is not a duration'),
                ('9999999d', 'is not a keep time'),
                ('31d', 'is not a keep time'),
                ('abc', "'abc' is not a duration"),
                ('1.5h', 'is not a duration'),
                ('', 'is not a duration'),
                ('x' * 10000, 'is not a duration')):
            message_found = self.refused('drill', '--plan', self.plan,
                                         '--keep-for=' + value)
            self.assertIn(message, message_found, value[:20])
        # Within the 30 days geoflows takes, beyond [protection]
        # drill_max_keep: refused before anything is made.
        _out, err = self.geoflows('drill', '--plan', self.plan,
                                  '--keep-for', '2d', expect=1)
        self.assertIn('drill_max_keep', err)
        self.assertEqual([], [j for j in self.json('job', 'list')
                              if j['Operation'] == 'drill'])

    def test_keep_for_values(self):
        self.assertEqual(1800, drill_cmd.keep_seconds('30m'))
        self.assertEqual(7200, drill_cmd.keep_seconds('2h'))
        self.assertEqual(86400, drill_cmd.keep_seconds('1d'))
        self.assertEqual(90, drill_cmd.keep_seconds('90'))
        self.assertEqual(90, drill_cmd.keep_seconds(' 90s '))
        for bad in ('0', '-1', '99999999d', 'abc', 'x' * 10000, '1w',
                    '2 h', '31d'):
            self.assertRaises(argparse.ArgumentTypeError,
                              drill_cmd.keep_seconds, bad)

    def test_cleanup_ids(self):
        _out, err = self.geoflows('drill', 'cleanup', 'feedbeef', expect=1)
        self.assertIn('drill feedbeef has no copy left to remove (no drill '
                      'of that id made one)', err)
        self.assertIn('geoflows drill list', err)
        [sync] = [j for j in self.json('job', 'list')
                  if j['Operation'] == 'sync']
        _out, err = self.geoflows('drill', 'cleanup', sync['ID'], expect=1)
        self.assertIn('is a sync, not a drill', err)
        for bad in ('xyz!', 'ab', '../../etc', 'F' * 40, 'x' * 10000, '',
                    'feedbeef\n'):
            self.assertIn('is not a drill id', self.refused(
                'drill', 'cleanup', '--', bad))
        self.assertEqual([], [j for j in self.json('job', 'list')
                              if j['Operation'] == 'drill.cleanup'])

    def test_groups(self):
        _out, err = self.geoflows('drill', '--plan', self.plan, 'nope',
                                  expect=1)
        self.assertIn("has no protection group 'nope'", err)
        for bad in ('Core!', 'A' * 100000, 'core;rm', '-x-', ''):
            self.assertIn('is not a protection group name', self.refused(
                'drill', '--plan', self.plan, '--', bad))
        self.assertIn('is not a plan file', self.refused(
            'drill', '--plan', 'x' * 5000))
        self.assertEqual([], [j for j in self.json('job', 'list')
                              if j['Operation'] == 'drill'])
        self.assertEqual([], self.listed('--all'))


class TestBounds(base.TestCase):

    @hypothesis.given(text=st.one_of(
        st.text(max_size=30),
        st.from_regex(r'\A\s?-?\d{1,10}[smhdw]?\s?\Z'),
        st.text(alphabet='0123456789smhd ', max_size=12)))
    @hypothesis.settings(max_examples=300, deadline=None)
    def test_keep_seconds_is_within_bounds_or_refused(self, text):
        try:
            value = drill_cmd.keep_seconds(text)
        except argparse.ArgumentTypeError as e:
            self.assertRegex(str(e), r'is not a (duration|keep time)')
            self.assertLess(len(str(e)), 600)  # a cut, escaped repr
            return
        self.assertIsInstance(value, int)
        self.assertTrue(1 <= value <= 30 * 86400, (text, value))

    @hypothesis.given(text=st.one_of(
        st.text(max_size=50),
        st.from_regex(r'\A[0-9a-f-]{0,40}\s?\Z'),
        st.uuids().map(str)))
    @hypothesis.settings(max_examples=300, deadline=None)
    def test_drill_id_is_an_id_or_refused(self, text):
        try:
            found = drill_cmd.drill_id(text)
        except argparse.ArgumentTypeError as e:
            self.assertIn('is not a drill id', str(e))
            self.assertLess(len(str(e)), 600)  # a cut, escaped repr
            return
        self.assertEqual(text, found)
        self.assertTrue(re.fullmatch(r'[0-9a-f-]{4,36}', found), found)
