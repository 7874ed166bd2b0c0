"""The report of a takeover, failback or drill job (geoflows.report).

Real takeover jobs run on the fake cloud (as in test_takeover_jobs); the
HTML page's escaping is checked on a made-up job whose names are markup.
"""

import datetime
import re
import types

from geoflows import exceptions
from geoflows import jobs
from geoflows import report
from tests.unit import base
from tests.unit import test_takeover_jobs

T0 = datetime.datetime(2025, 1, 1, 12, 0, 0)

#: a VNF name that would run a script if the page did not escape it
EVIL = '<script>window.injected=1</script><img src=x onerror="window.b=1">'


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def step(unit, name, state, start, end, reverted=None):
    return {'unit': unit, 'unit_state': state, 'name': name,
            'atom_type': 'TASK', 'state': state, 'intention': 'EXECUTE',
            'started_at': at(start), 'finished_at': at(end),
            'revert_started_at': at(end) if reverted else None,
            'revert_finished_at': at(reverted) if reverted else None}


class FakeRecords(object):
    """Steps of made-up jobs, as a state store answers job_steps."""

    def __init__(self, steps):
        self.steps = steps

    def job_steps(self, job_id, names=None, data=True):
        return list(self.steps)


def made_up(operation='takeover', evil=EVIL):
    """(records, job): a partial takeover of 5 VNFs in 2 groups."""
    vnf = {'priority': 1, 'standby': 'hot', 'ready': True, 'rto': 4.0,
           'rto_target': 10, 'rto_met': True, 'rpo': 30.5,
           'rpo_target': 60, 'consistent_at': '2025-01-01T11:59:29Z'}
    result = {
        'units': {
            'core.done': {
                'group': 'core', 'checkpoint': 'c-1', 'mode': 'disaster',
                'vnfs': {
                    'hss': dict(vnf),
                    evil: dict(vnf, priority=2, rto=12.0, rto_met=False),
                    'fw': dict(vnf, priority=3, standby='cold',
                               ready=False, rto=None, rto_met=False),
                    'pgw': dict(vnf, priority=4, ready=False, rto=None,
                                rto_met=False)},
                'verify': {'clean': False,
                           'differences': ['server <b>x</b> is missing']}},
            'edge.done': {
                'group': 'edge', 'checkpoint': 'c-2', 'mode': 'disaster',
                'vnfs': {'lb': dict(vnf, standby='warm')},
                'verify': {'clean': True, 'differences': []}},
            'vpn': {'resources': []}},
        'failed': {'core/fw': 'core/fw: step boot failed: no image <i>'},
        'skipped': {'core.chain.edge': 'needs core/fw, which failed',
                    'core/pgw': 'needs core/fw, which failed'}}
    job = types.SimpleNamespace(
        id='j-1', operation=operation, plan_name='plan<&>',
        state=jobs.PARTIAL, display_state=jobs.PARTIAL, started_at=T0,
        finished_at=at(20), duration=20.0, error='1 unit failed',
        result=result)
    steps = [
        step('core/hss', 'restore', 'SUCCESS', 0.5, 2),
        step('core/hss', 'boot', 'SUCCESS', 2, 4),
        step('core/' + evil, 'boot', 'SUCCESS', 1, 12),
        step('core/fw', 'boot', 'REVERTED', 1, 3, reverted=5),
        step('core/fw', 'port', 'FAILURE', 3, 3.5),
        step('edge/lb', 'boot', 'SUCCESS', 0.2, 4),
        step('core.done', 'report', 'SUCCESS', 19, 20),
        step('vpn', 'setup', 'SUCCESS', 0, 0.1)]
    return FakeRecords(steps), job


class TestMadeUp(base.TestCase):

    def setUp(self):
        super().setUp()
        records, self.job = made_up()
        self.report = report.build(records, self.job)

    def vnfs(self):
        return {(v['group'], v['name']): v
                for v in report.vnf_rows(self.report)}

    def test_one_row_per_vnf_in_priority_order(self):
        self.assertEqual([('core', 'hss'), ('core', EVIL), ('core', 'fw'),
                          ('core', 'pgw'), ('edge', 'lb')],
                         [(v['group'], v['name'])
                          for v in report.vnf_rows(self.report)])
        rows = report.table_rows(self.report)
        self.assertEqual(5, len(rows))
        self.assertEqual(
            ('core', 'hss', '1', 'hot', 'yes', '4', '10', 'yes', '30.5',
             '60', '1 difference from checkpoint c-1'), rows[0])
        self.assertEqual(('no', '-', 'no'), (rows[2][4], rows[2][5],
                                             rows[2][7]))
        self.assertEqual('clean', rows[4][-1])

    def test_steps_are_seconds_from_the_job_s_start(self):
        vnfs = self.vnfs()
        self.assertEqual(
            [{'unit': 'core/hss', 'name': 'restore', 'state': 'SUCCESS',
              'start': 0.5, 'end': 2.0},
             {'unit': 'core/hss', 'name': 'boot', 'state': 'SUCCESS',
              'start': 2.0, 'end': 4.0}], vnfs['core', 'hss']['steps'])
        fw = {s['name']: s for s in vnfs['core', 'fw']['steps']}
        # A reverted step lasts until it was undone.
        self.assertEqual(('REVERTED', 1.0, 5.0), (
            fw['boot']['state'], fw['boot']['start'], fw['boot']['end']))
        self.assertEqual('FAILURE', fw['port']['state'])
        [group] = [g for g in self.report['groups'] if g['group'] == 'core']
        self.assertEqual(['report'], [s['name'] for s in group['steps']])

    def test_failed_and_skipped_units_with_their_messages(self):
        self.assertEqual(
            [('core/fw', 'boot', 'FAILED',
              'core/fw: step boot failed: no image <i>'),
             ('core.chain.edge', '-', 'SKIPPED',
              'needs core/fw, which failed'),
             ('core/pgw', '-', 'SKIPPED', 'needs core/fw, which failed')],
            report.problem_rows(self.report))
        self.assertEqual(['core/fw'], [
            p['unit'] for p in self.vnfs()['core', 'fw']['problems']])
        [core, _edge] = self.report['groups']
        self.assertEqual(['core.chain.edge'],
                         [p['unit'] for p in core['problems']])

    def test_a_job_without_a_report_is_refused(self):
        records, job = made_up()
        job.operation, job.result = 'sync', {'units': {}}
        e = self.assertRaises(exceptions.GeoflowsError, report.build,
                              records, job)
        self.assertEqual('job j-1 is a sync: only takeover, failback and '
                         'drill jobs have a report', str(e))

    def test_a_drill_needs_no_change(self):
        records, job = made_up('drill')
        found = report.build(records, job)
        self.assertEqual(5, len(report.vnf_rows(found)))
        self.assertEqual('drill', found['operation'])


class TestHTML(base.TestCase):

    def setUp(self):
        super().setUp()
        self.page = report.html(report.build(*made_up()))

    def test_text_from_the_job_is_escaped(self):
        self.assertNotIn('<script>window', self.page)
        self.assertNotIn('<img', self.page)
        self.assertNotIn('<b>x</b>', self.page)
        self.assertNotIn('plan<&>', self.page)
        self.assertIn('&lt;script&gt;window.injected=1&lt;/script&gt;',
                      self.page)
        self.assertIn('server &lt;b&gt;x&lt;/b&gt; is missing', self.page)
        self.assertIn('no image &lt;i&gt;', self.page)
        # In the chart's data too: nothing there can end its element.
        [data] = re.findall(r'<script type="application/json" '
                            r'id="report-data">(.*?)</script>', self.page,
                            re.S)
        self.assertNotIn('<', data)
        self.assertIn('\\u003cscript\\u003e', data)
        # Three scripts: the data, Chart.js, the page's own code.
        self.assertEqual(3, self.page.count('<script'))
        self.assertEqual(3, self.page.count('</script>'))

    def test_nothing_is_loaded_from_the_network(self):
        self.assertIsNone(re.search(
            r'''(src|href)\s*=\s*["']?\s*(https?:)?//''', self.page, re.I))
        self.assertNotIn('@import', self.page)
        [style] = re.findall(r'<style>(.*?)</style>', self.page, re.S)
        self.assertNotIn('url(', style.lower())
        self.assertNotIn('sourceMappingURL', self.page)
        self.assertIn("default-src 'none'", self.page)
        # Chart.js is inline, its license header kept.
        self.assertIn('Chart.js v4', self.page)
        self.assertIn('Released under the MIT License', self.page)

    def test_one_chart_row_per_vnf(self):
        records, job = made_up()
        data = report._chart_data(report.build(records, job))
        self.assertEqual(['core/hss', 'core/' + EVIL, 'core/fw', 'core/pgw',
                          'edge/lb'], data['rows'])
        self.assertEqual({'success', 'failed', 'reverted', 'skipped'},
                         {b['category'] for b in data['bars']})
        self.assertEqual(5, len(data['targets']))
        self.assertEqual(3, len(data['measured']))  # fw, pgw never ready
        [skipped] = [b for b in data['bars'] if b['category'] == 'skipped']
        # Over the whole job: it never ran.
        self.assertEqual(('core/pgw', 0, 20.0), (
            skipped['row'], skipped['start'], skipped['end']))

    def test_no_secret_or_spec(self):
        records, job = made_up()
        job.spec = {'password': 'hunter2'}
        page = report.html(report.build(records, job))
        self.assertNotIn('hunter2', page)


class TestTakeover(test_takeover_jobs.TakeoverTestCase):

    def test_a_disaster_takeover(self):
        job = self.takeover()
        self.assertEqual(jobs.SUCCESS, job.state, job.error)
        found = report.build(self.store, self.runner.get(job.id))
        self.assertEqual(('takeover', 'test', 'SUCCESS'), (
            found['operation'], found['plan'], found['state']))
        vnfs = {v['name']: v for v in report.vnf_rows(found)}
        self.assertEqual({'hss', 'pgw', 'fw'}, set(vnfs))
        for name, vnf in vnfs.items():
            self.assertTrue(vnf['ready'], name)
            self.assertEqual('clean', vnf['verify'])
            self.assertTrue(vnf['steps'], name)
            ends = [s['end'] for s in vnf['steps']]
            self.assertTrue(all(0 <= s['start'] <= s['end'] <= job.duration
                                for s in vnf['steps']), vnf['steps'])
            # Measured from the job's start like its steps.
            self.assertLessEqual(vnf['rto'], max(ends) + 1)
        self.assertEqual([], found['problems'])
        page = report.html(found)
        [table] = re.findall(r'<table id="vnfs">(.*?)</table>', page, re.S)
        self.assertEqual(3, table.count('<tr><td>core</td>'))

    def test_a_partial_takeover(self):
        [image] = self.lyon().image.images()
        self.lyon().image.delete_image(image.id)  # the cold firewall's
        job = self.takeover()
        self.assertEqual(jobs.PARTIAL, job.state, job.error)
        found = report.build(self.store, job)
        problems = {p['unit']: p for p in found['problems']}
        self.assertEqual('FAILED', problems['core/fw']['state'])
        self.assertIn("image 'vnf-image'", problems['core/fw']['message'])
        self.assertEqual('SKIPPED', problems['core.chain.edge']['state'])
        fw = {v['name']: v for v in report.vnf_rows(found)}['fw']
        self.assertFalse(fw['ready'])
        self.assertEqual(['core/fw'], [p['unit'] for p in fw['problems']])

    def test_a_sync_is_refused(self):
        sync = self.runner.start('sync', self.plan)
        e = self.assertRaises(exceptions.GeoflowsError, report.build,
                              self.store, sync)
        self.assertIn('is a sync: only takeover, failback and drill jobs',
                      str(e))
