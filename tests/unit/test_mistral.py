"""geoflows.mistral: job outcomes, and reporting them to Mistral's API."""

import http.server
import json
import threading

from oslo_config import cfg

from geoflows.conf import opts
from geoflows import jobs
from geoflows import mistral
from tests.unit import base

NOTIFY = {'mistral': {'action_execution_id': 'ae-1',
                      'callback_url': '/v2/action_executions/ae-1'}}


class _Mistral(object):
    """A stand-in for Mistral's API: records PUTs, answers ``statuses``."""

    def __init__(self, statuses=(200,)):
        self.requests = []
        self.statuses = list(statuses)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_PUT(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                owner.requests.append((self.path, json.loads(body)))
                status = (owner.statuses.pop(0) if len(owner.statuses) > 1
                          else owner.statuses[0])
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{}')

        self.server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_port
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TestReport(base.CloudTestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        opts.register(self.conf)
        self.conf([], project='geoflows-test')
        self.api = _Mistral()
        self.addCleanup(self.api.close)
        self.conf.set_override('url', self.api.url + '/v2', 'mistral')

    def job(self, fail=False):
        if fail:
            self.site('lyon').fail('create_bgpvpn_network_association')
        return self.runner.start('interconnect.setup', base.make_plan(),
                                 ['vpn'])

    def send(self, job):
        mistral.send(self.conf.mistral, self.clouds, NOTIFY, job,
                     sleep=lambda s: None)

    def test_success_is_reported_with_the_report(self):
        job = self.job()
        self.send(job)
        [(path, body)] = self.api.requests
        self.assertEqual('/v2/action_executions/ae-1', path)
        self.assertEqual('SUCCESS', body['state'])
        self.assertEqual(job.id, json.loads(body['output'])['id'])

    def test_failure_is_reported_as_an_error_with_its_message(self):
        job = self.job(fail=True)
        self.assertEqual(jobs.REVERTED, job.state)
        self.send(job)
        [(_path, body)] = self.api.requests
        self.assertEqual('ERROR', body['state'])
        output = json.loads(body['output'])
        self.assertIn('ended REVERTED', output['message'])
        self.assertIn('HTTP 500', output['message'])
        self.assertEqual(jobs.REVERTED, output['job']['state'])

    def test_an_unavailable_api_is_retried(self):
        self.api.statuses = [503, 503, 200]
        self.send(self.job())
        self.assertEqual(3, len(self.api.requests))

    def test_giving_up_says_how_to_finish_by_hand(self):
        self.api.statuses = [503]
        self.conf.set_override('report_attempts', 2, 'mistral')
        job = self.job()
        e = self.assertRaises(mistral.ReportError, self.send, job)
        self.assertEqual(2, len(self.api.requests))
        self.assertIn('HTTP 503', str(e))
        self.assertIn('openstack workflow action execution update --state '
                      'SUCCESS ae-1', str(e))

    def test_a_completed_action_execution_is_not_retried(self):
        self.api.statuses = [400]
        self.assertRaises(mistral.ReportError, self.send, self.job())
        self.assertEqual(1, len(self.api.requests))

    def test_without_url_nor_cloud(self):
        self.conf.clear_override('url', 'mistral')
        e = self.assertRaises(mistral.ReportError, self.send, self.job())
        self.assertIn('[mistral] url is not set', str(e))
        self.assertEqual([], self.api.requests)


class TestOutcome(base.CloudTestCase):

    def test_a_kept_failure_says_how_to_finish_it(self):
        self.site('lyon').fail('create_bgpvpn_network_association')
        job = self.runner.start('interconnect.setup', base.make_plan(),
                                ['vpn'], keep_on_failure=True)
        ok, data = mistral.outcome(job)
        self.assertFalse(ok)
        self.assertIn('ended FAILED', data['message'])
        self.assertIn('"geoflows job resume %s"' % job.id, data['message'])
        self.assertIn('geoflows.job.revert', data['message'])

    def test_success(self):
        job = self.runner.start('interconnect.setup', base.make_plan(),
                                ['vpn'])
        self.assertEqual((True, job.to_dict()), mistral.outcome(job))
