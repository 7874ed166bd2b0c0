"""geoflows job report, in-process, on takeover jobs of the fake cloud.

The sample VNFs run at the fake site paris and are taken over at lyon (see
tests/unit/cmd/test_takeover.py).
"""

import os
import re

from tests.unit.cmd import test_takeover


class TestJobReport(test_takeover.TakeoverCommandTestCase):

    def test_table_json_and_html(self):
        job = self.disaster()
        self.assertEqual('SUCCESS', job['state'], job['error'])
        out, _err = self.geoflows('job', 'report', job['id'][:8])
        self.assertRegex(out, r'\| group +\| VNF +\| priority +\| standby +'
                              r'\| ready +\| RTO \(s\) +\| RTO target +\| '
                              r'met +\| RPO \(s\) +\| RPO target +\| '
                              r'verify +\|')
        for vnf in ('hss', 'pgw', 'fw'):
            self.assertRegex(out, r'\| core +\| %s +\| \d +\| \w+ +\| yes +'
                                  r'\| [\d.]+ +\| \d+ +\| yes +\| [\d.]+ +\| '
                                  r'\d+ +\| clean +\|' % vnf)
        self.assertRegex(out, r'\| problems +\| none +\|')

        found = self.json('job', 'report', job['id'])
        self.assertEqual((job['id'], 'takeover', 'SUCCESS'), (
            found['id'], found['operation'], found['state']))
        [group] = found['groups']
        self.assertEqual('core', group['group'])
        self.assertEqual('clean', group['verify']['verdict'])
        # By priority, then name.
        self.assertEqual(['hss', 'fw', 'pgw'],
                         [v['name'] for v in group['vnfs']])
        by_vnf = self.by_vnf(job)  # what the takeover itself showed
        for vnf in group['vnfs']:
            for field in ('priority', 'standby', 'ready', 'rto', 'rto_target',
                          'rpo', 'rpo_target'):
                self.assertEqual(by_vnf[vnf['name']][field], vnf[field])
            self.assertTrue(vnf['steps'])
        self.assertEqual([], found['problems'])

        path = os.path.join(self.tmp, 'report.html')
        _out, err = self.geoflows('job', 'report', job['id'], '--html', path)
        self.assertIn('report written to %s' % path, err)
        with open(path, encoding='utf-8') as f:
            page = f.read()
        self.assertIn('<title>takeover of plan test, job %s: SUCCESS'
                      '</title>' % job['id'], page)
        self.assertIsNone(re.search(r'''(src|href)\s*=\s*["']?https?:''',
                                    page, re.I))

    def test_failed_and_skipped_steps_are_listed(self):
        [image] = self.lyon.image.images()
        self.lyon.image.delete_image(image.id)  # the cold firewall's
        job = self.disaster(expect=1)
        self.assertEqual('PARTIAL', job['state'])
        out, _err = self.geoflows('job', 'report', job['id'])
        self.assertRegex(out, r'\| core +\| fw +\| 2 +\| cold +\| no +\| - ')
        self.assertRegex(out, r'\| core/fw +\| [-\w., ]+ +\| FAILED +\| '
                              r'core/fw: ')
        self.assertRegex(out, r'\| core\.chain\.edge +\| - +\| SKIPPED +\| '
                              r'needs core/fw, which failed')

    def test_a_job_without_a_report_is_refused(self):
        [sync] = [j for j in self.json('job', 'list')
                  if j['Operation'] == 'sync']
        _out, err = self.geoflows('job', 'report', sync['ID'], expect=1)
        self.assertIn('job %s is a sync: only takeover, failback and drill '
                      'jobs have a report' % sync['ID'], err)
        _out, err = self.geoflows('job', 'report', 'no-such-job', expect=1)
        self.assertIn('no-such-job', err)
        self.assertRaises(SystemExit, self.geoflows, 'job', 'report')
