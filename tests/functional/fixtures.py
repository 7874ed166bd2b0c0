"""Fixtures of the functional tests: a fault-injecting HTTP proxy, a
conductor process."""

import http.client
import http.server
import re
import signal
import socketserver
import subprocess
import threading
import time
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


class ConductorProcess(fixtures.Fixture):
    """A real ``geoflows conductor`` process and what it logs.

    ``argv`` starts it (e.g. [geoflows, 'conductor', '--name', name]); each
    line it logs is kept with the time it was read.  ``wait_for(pattern)``
    returns the first matching line's (time, line).  Stopped with SIGTERM
    (SIGKILL after 30 s) at cleanup.
    """

    def __init__(self, argv, env, cwd=None):
        super().__init__()
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.lines = []
        self.changed = threading.Condition()

    def _setUp(self):
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=self.env, cwd=self.cwd)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.addCleanup(self.stop)

    def _read(self):
        for line in self.proc.stderr:
            with self.changed:
                self.lines.append((time.monotonic(), line.rstrip('\n')))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def find(self, pattern, after=0.0):
        regex = re.compile(pattern)
        with self.changed:
            for when, line in self.lines:
                if when >= after and regex.search(line):
                    return when, line
        return None

    def wait_for(self, pattern, timeout=120, after=0.0):
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = self.find(pattern, after)
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and
                                 not self.reader.is_alive()):
                    raise AssertionError(
                        'conductor never logged %r; it logged:\n%s' % (
                            pattern, self.text()))
                self.changed.wait(min(left, 1.0))

    def text(self):
        with self.changed:
            return '\n'.join(line for _when, line in self.lines)

    def kill(self):
        """SIGKILL it; return the time of the kill."""
        self.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        self.proc.wait()
        return killed

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(10)
        self.proc.stderr.close()
