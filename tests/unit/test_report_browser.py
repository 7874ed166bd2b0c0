"""The job report's HTML page, opened in a real headless Chromium.

Debian's chromium and chromium-driver (tools/lib.sh ensure_browser
installs them), driven through selenium.  Without them the tests skip,
unless GEOFLOWS_TEST_BROWSER=1 (tools/run-tests.sh sets it): then they
fail, so that CI cannot pass without running them.
"""

import logging
import os
import shutil
import tempfile
import time
import unittest

from geoflows import report
from tests.unit import base
from tests.unit import test_report

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
REQUIRED = os.environ.get('GEOFLOWS_TEST_BROWSER') == '1'


def _missing():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER)
               if not os.access(path, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append('the selenium package')
    return missing


MISSING = _missing()


@unittest.skipIf(MISSING and not REQUIRED,
                 'needs %s (Debian: apt install chromium chromium-driver; '
                 'GEOFLOWS_TEST_BROWSER=1 makes this a failure)'
                 % ', '.join(MISSING))
class TestReportInChromium(base.TestCase):

    browser = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if MISSING:
            raise AssertionError('GEOFLOWS_TEST_BROWSER=1 but %s missing'
                                 % ', '.join(MISSING))
        from selenium import webdriver
        from selenium.webdriver.chrome import service

        for name in ('selenium', 'urllib3'):  # a line per WebDriver call
            logging.getLogger(name).setLevel(logging.WARNING)

        cls.profile = tempfile.mkdtemp(prefix='geoflows-chromium-')
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ('--headless=new', '--no-sandbox',
                         '--disable-dev-shm-usage', '--disable-gpu',
                         '--no-first-run', '--disable-extensions',
                         '--disable-background-networking',
                         '--window-size=1280,900',
                         '--user-data-dir=%s' % cls.profile):
            options.add_argument(argument)
        options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
        started = time.monotonic()
        cls.browser = webdriver.Chrome(
            options=options, service=service.Service(CHROMEDRIVER))
        cls.browser.set_page_load_timeout(15)
        cls.started_in = time.monotonic() - started

    @classmethod
    def tearDownClass(cls):
        if cls.browser is not None:
            cls.browser.quit()
            shutil.rmtree(cls.profile, ignore_errors=True)
        super().tearDownClass()

    def open(self, page):
        path = os.path.join(self.tmp, 'report.html')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(page)
        self.browser.get('file://' + path)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rendered = self.browser.execute_script(
                'return document.body && document.body.dataset.rendered')
            if rendered is not None:
                return int(rendered)
            time.sleep(0.05)
        self.fail('the chart did not render: %s' % (
            self.browser.get_log('browser'),))

    def test_the_chart_has_one_row_per_vnf(self):
        records, job = test_report.made_up()
        found = report.build(records, job)
        vnfs = report.vnf_rows(found)
        self.assertEqual(len(vnfs), self.open(report.html(found)))
        script = self.browser.execute_script
        self.assertEqual(['%s/%s' % (v['group'], v['name']) for v in vnfs],
                         script('return window.geoflowsChart.scales.y'
                                '.getLabels()'))
        # Bars were laid out on the canvas, on the rows of their VNFs.
        bars = script('''
            var chart = window.geoflowsChart, n = 0;
            chart.data.datasets.forEach(function (d, i) {
              if (d.type === 'bar') {
                n += chart.getDatasetMeta(i).data.filter(function (e) {
                  return e.width > 0 && e.height > 0; }).length;
              }
            });
            return n;''')
        drawn = sum(1 for v in vnfs for s in v['steps']
                    if s['start'] is not None or s['state'] == 'SKIPPED')
        self.assertEqual(drawn, bars)
        targets = script('''
            var chart = window.geoflowsChart;
            var i = chart.data.datasets.findIndex(function (d) {
              return d.label === 'RTO target'; });
            return chart.getDatasetMeta(i).data.map(function (e) {
              return [chart.scales.y.getValueForPixel(e.y), e.x]; });''')
        self.assertEqual(list(range(len(vnfs))), [t[0] for t in targets])
        size = script('var r = document.getElementById("timeline")'
                      '.getBoundingClientRect(); return [r.width, r.height]')
        self.assertGreater(size[0], 100)
        self.assertGreater(size[1], 34 * len(vnfs))
        # Its pixels are not all blank.
        painted = script('''
            var c = document.getElementById('timeline');
            var d = c.getContext('2d').getImageData(0, 0, c.width,
                                                    c.height).data;
            var n = 0;
            for (var i = 3; i < d.length; i += 4) { if (d[i]) { n++; } }
            return n;''')
        self.assertGreater(painted, 1000)
        # The VNF named as markup is text, not markup.
        self.assertIsNone(script('return window.injected || window.b || '
                                 'null'))
        self.assertEqual(0, script('return document.images.length'))
        self.assertIn(test_report.EVIL, self.browser.find_element(
            'id', 'vnfs').text)
        # Nothing came from the network (nor from anywhere else).
        self.assertEqual([], script(
            'return performance.getEntriesByType("resource")'
            '.map(function (e) { return e.name; })'))
        self.assertEqual([], [e for e in self.browser.get_log('browser')
                              if e['level'] == 'SEVERE'])
        self.assertLess(self.started_in, 15)
