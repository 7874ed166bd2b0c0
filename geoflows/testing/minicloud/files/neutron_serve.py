"""Serve one Neutron API site on 127.0.0.1 (runs in the Neutron venv).

Usage: neutron_serve.py DATADIR

DATADIR holds neutron.conf, ml2_conf.ini, api-paste.ini and site.json, all
written by geoflows-minicloud.  site.json gives the port, whether requests are
serialised (SQLite cannot take concurrent writers), and the availability
zones to announce.

Neutron 29 ships no neutron-server command: the API is the WSGI application
``neutron.wsgi.api``, served here by the standard library's threaded server.
"""
import json
import os
import signal
import socketserver
import sys
import threading
import time
from wsgiref import simple_server

started = time.monotonic()
datadir = os.path.abspath(sys.argv[1])
with open(os.path.join(datadir, 'site.json')) as f:
    site = json.load(f)
os.environ['OS_NEUTRON_CONFIG_DIR'] = datadir
os.environ['OS_NEUTRON_CONFIG_FILES'] = 'neutron.conf;ml2_conf.ini'
sys.argv = ['neutron-api']  # oslo.config parses sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from neutron import policy  # noqa: E402
from neutron.services.segments import plugin as segments_plugin  # noqa: E402

# Segments are not mapped to Nova host aggregates here: the segments
# plugin's Nova notifier would fail in a background thread on every network
# delete.  Patched before the plugins load: they bind the method then.
segments_plugin.NovaSegmentNotifier._send_notifications = (
    lambda self, events: None)

from neutron.wsgi import api  # noqa: E402  (loads config and plugins)
from neutron_lib import context as n_context  # noqa: E402
from neutron_lib.plugins import directory  # noqa: E402

# The policy enforcer is created lazily and not thread-safe: concurrent
# first requests get spurious 403s.  Create it before serving.
policy.init()

# Announce one DHCP agent per availability zone, as the network nodes of
# each cell would, so that networks may carry availability zone hints.
admin = n_context.get_admin_context()
for zone in site.get('availability_zones', []):
    directory.get_plugin().create_or_update_agent(admin, {
        'agent_type': 'DHCP agent',
        'binary': 'neutron-dhcp-agent',
        'host': 'network-%s' % zone,
        'topic': 'dhcp_agent',
        'availability_zone': zone,
        'configurations': {}})

application = api.application
if site.get('serialize', True):
    lock = threading.Lock()
    wsgi_app = application

    def application(environ, start_response):
        with lock:
            result = wsgi_app(environ, start_response)
            try:
                body = b''.join(result)
            finally:
                if hasattr(result, 'close'):
                    result.close()
        return [body]


class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write('ACCESS %s\n' % (fmt % args))


def stop(signum, frame):
    raise SystemExit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
server = simple_server.make_server('127.0.0.1', site['port'], application,
                                   server_class=Server, handler_class=Handler)
sys.stderr.write('READY port=%d pid=%d boot=%.2fs\n'
                 % (site['port'], os.getpid(), time.monotonic() - started))
sys.stderr.flush()
try:
    server.serve_forever(poll_interval=0.1)
finally:
    server.server_close()
    sys.stderr.write('STOPPED port=%d\n' % site['port'])
    sys.stderr.flush()
    # Every request is complete and committed; skip the slow interpreter
    # shutdown that waits on Neutron's non-daemon threads.
    os._exit(0)
