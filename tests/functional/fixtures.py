"""Fixtures of the functional tests: a fault-injecting HTTP proxy."""

import http.client
import http.server
import re
import socketserver
import threading
import urllib.parse

import fixtures


class FaultProxy(fixtures.Fixture):
    """An HTTP proxy in front of a real API that fails chosen requests.

    ``fail(method, path_pattern, status, times)`` makes the next ``times``
    matching requests get ``status`` without reaching the API; everything
    else is forwarded unchanged.  ``url`` is the proxy's address.
    """

    def __init__(self, target):
        super().__init__()
        parsed = urllib.parse.urlparse(target)
        self.target_host, self.target_port = parsed.hostname, parsed.port
        self.rules = []
        self.seen = []
        self.lock = threading.Lock()

    def fail(self, method, path_pattern, status=500, times=1):
        with self.lock:
            self.rules.append([method, re.compile(path_pattern), status,
                               times])

    def _fault_for(self, method, path):
        with self.lock:
            self.seen.append((method, path))
            for rule in self.rules:
                if rule[0] == method and rule[1].search(path) and rule[3]:
                    rule[3] -= 1
                    return rule[2]
        return None

    def _setUp(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                status = proxy._fault_for(self.command, self.path)
                if status is not None:
                    payload = (b'{"NeutronError": {"message": "injected '
                               b'fault", "type": "Injected"}}')
                    self.send_response(status)
                    self.send_header('Content-Type', 'application/json')
                    self.send_header('Content-Length', str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(
                    proxy.target_host, proxy.target_port, timeout=60)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ('host', 'connection')}
                conn.request(self.command, self.path, body, headers)
                answer = conn.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ('transfer-encoding', 'connection',
                                           'content-length'):
                        self.send_header(key, value)
                self.send_header('Content-Length', str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d/' % self.server.server_address[1]
        thread = threading.Thread(target=self.server.serve_forever,
                                  kwargs={'poll_interval': 0.1}, daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
