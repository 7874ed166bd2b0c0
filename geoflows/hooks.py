"""Consistency hooks: commands and webhooks that a VNF's steps call.

A plan gives each VNF hooks by hook point (:data:`POINTS`), each point a
list of hooks, each either a command the controller runs or an HTTP webhook
it calls (the shape is in the plan schema, ``$defs/hooks``; :func:`schema`
gives it as a document of its own)::

    quiesce:
      - command: [/opt/hooks/freeze-db, --flush]
        timeout: 60
        env: {DB_PASSWORD: {env: DB_PASSWORD}}
      - webhook: https://vnfm.example.net/hooks/quiesce
        headers: {Authorization: {file: /etc/geoflows/vnfm.token,
                                  prefix: 'Bearer '}}

:func:`run` runs the hooks of one point, in order, for one VNF (and one of
its servers when the point is per server), and returns a
:class:`PointResult`; a hook that fails raises
:class:`geoflows.exceptions.HookError`.  Every text that leaves this module
(results, error messages, log records) is masked with
:func:`geoflows.secrets.mask`, and every secret it resolves is registered
there first.

What a hook receives is the payload that :func:`make_payload` builds: on
standard input for a command, as the POST body for a webhook.

Commands run without a shell, in a new session (a timeout kills the whole
process group), in an empty temporary directory, with a minimal
environment: the controller's variables named by ``pass_env`` (PATH, HOME,
the locale, ...), the hook's ``env`` and ``GEOFLOWS_*`` variables that
repeat the payload's main fields.  Webhooks are POSTed without following
redirects and without the controller's proxy or .netrc settings.

Order and release.  Across the servers of a VNF, quiesce hooks run in the
plan's order (:func:`quiesce_order`) and unquiesce hooks in reverse
(:func:`unquiesce_order`).  Once a quiesce may have run, the unquiesce
must run, whatever happens in between; in a Taskflow flow the Taskflow
state is the persisted marker: the task that runs ``quiesce`` for a server
runs ``unquiesce`` in its revert, also when its own result is a Failure (a
quiesce that failed half-way may hold something), and a resumed job
re-runs a task that was running when the controller died.  Hooks must
therefore be idempotent: a quiesce or an unquiesce may run twice, and an
unquiesce may follow a quiesce that failed.  The payload's ``key`` (the
same for every attempt of a step) and ``attempt`` let a hook recognise a
repeat.  :func:`run` itself keeps no state: calling it again runs the
hooks again.
"""

import dataclasses
import functools
import json
import logging
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

from geoflows import exceptions
from geoflows import secrets

QUIESCE = 'quiesce'
UNQUIESCE = 'unquiesce'
PRE_SYNC = 'pre_sync'
POST_SYNC = 'post_sync'
POST_TAKEOVER = 'post_takeover'
PROMOTE = 'promote'
DRAIN = 'drain'
#: Every hook point, in the order an operation meets them.
POINTS = (QUIESCE, PRE_SYNC, POST_SYNC, UNQUIESCE, POST_TAKEOVER, PROMOTE,
          DRAIN)
#: The point that releases what another one takes.
RELEASES = {QUIESCE: UNQUIESCE}
#: Points whose hooks all run even when one of them fails: stopping at the
#: first failure would leave the rest of the VNF frozen.
KEEP_GOING = frozenset([UNQUIESCE])

COMMAND_TIMEOUT = 60
WEBHOOK_TIMEOUT = 30
#: Bytes of output kept per hook (the end for a command, the start of a
#: webhook's answer); [hooks] output_limit.
OUTPUT_LIMIT = 4096
#: Variables of the controller's environment that commands inherit;
#: [hooks] pass_env.
PASS_ENV = ('PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ',
            'TMPDIR')
DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
PAYLOAD_VERSION = 1

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'schemas', 'plan-v1.schema.json')

LOG = logging.getLogger(__name__)

# More than the limit is read, so that the text cut at the limit is cut
# after masking: a secret or a "password=..." split by the cut would escape
# masking.
_SLACK = 4096
_CHUNK = 65536
# Seconds between SIGTERM and SIGKILL of a timed-out command's group.
_KILL_GRACE = 2.0
# Seconds the output of a command that has exited is still read: a process
# it left running may hold its output open.
_EXIT_GRACE = 1.0
# Characters of output quoted in an error message.
_QUOTE = 240

# Names (of headers, variables, query parameters) whose values are secrets.
_SECRET_NAME = re.compile(
    r'(passw(or)?d|secret|token|psk|api[_-]?key|private[_-]?key|'
    r'credentials?|authorization|cookie)$', re.IGNORECASE)
_SECRET_ARG = re.compile(
    r'(passw(or)?d|secret|token|psk|api[_-]?key)\w*[=:]\S', re.IGNORECASE)
_CLEAR_CREDENTIAL = re.compile(r'^\s*(bearer|basic|token|digest)\s+\S',
                               re.IGNORECASE)
_RESERVED_HEADERS = frozenset(['content-type', 'content-length', 'host',
                               'transfer-encoding'])


@dataclasses.dataclass
class HookResult(object):
    """What one hook did (JSON-able with :meth:`to_dict`).

    ``error`` is None when ``ok``, else the short reason code of
    :class:`~geoflows.exceptions.HookError`.  ``output`` is the end of a
    command's output (standard output and error, as written) or the start
    of a webhook's answer, at most ``output_limit`` characters, masked;
    ``output_bytes`` counts all of it.  ``drained`` is the verdict of a
    ``drain`` hook, None for the other points.
    """

    point: str
    index: int
    kind: str
    target: str
    ok: bool = False
    error: str = None
    exit_status: int = None
    http_status: int = None
    duration: float = 0.0
    output: str = ''
    output_bytes: int = 0
    drained: bool = None

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class PointResult(object):
    """What the hooks of one point did (JSON-able with :meth:`to_dict`).

    ``hooks`` holds the :class:`HookResult` of every hook that ran, as
    dicts; ``skipped`` counts those that did not (after a failure).
    ``drained`` is true for a ``drain`` point when every hook said so (or
    there is none), None for the other points.
    """

    point: str
    ok: bool
    duration: float
    hooks: list
    skipped: int = 0
    drained: bool = None

    def to_dict(self):
        return dataclasses.asdict(self)


def hook_key(job_id, point, vnf, server=None):
    """The key of one step's hooks, the same for all its attempts."""
    parts = [str(job_id), point, str(vnf)]
    if server is not None:
        parts.append(str(server))
    return '/'.join(parts)


def make_payload(point, plan, vnf, job_id, server=None, group=None,
                 drill=False, attempt=1, reverting=False):
    """The JSON document a hook receives.

    :param vnf: the VNF's ``name``, ``priority`` and ``standby``
        (other keys are left out).
    :param server: the server's ``name``, ``id`` and ``site``, or None for
        a hook about the whole VNF.
    :param attempt: 1 for the first run of the step, 2 for its first retry
        or a re-run after a crash, ...
    :param reverting: the run undoes an earlier step (an unquiesce run by
        a revert).
    """
    if point not in POINTS:
        raise ValueError('unknown hook point %r' % (point,))
    return {
        'version': PAYLOAD_VERSION,
        'point': point,
        'key': hook_key(job_id, point, vnf['name'],
                        None if server is None else server.get('name')),
        'plan': plan,
        'group': group,
        'vnf': {'name': vnf['name'], 'priority': vnf.get('priority'),
                'standby': vnf.get('standby')},
        'server': None if server is None else {
            'name': server.get('name'), 'id': server.get('id'),
            'site': server.get('site')},
        'job_id': job_id,
        'drill': bool(drill),
        'attempt': int(attempt),
        'reverting': bool(reverting),
    }


def quiesce_order(servers):
    """The servers of a VNF in the order their quiesce hooks run."""
    return list(servers)


def unquiesce_order(servers):
    """The servers of a VNF in the order their unquiesce hooks run."""
    return list(reversed(list(servers)))


def has_hooks(spec, point):
    """Whether ``spec`` (a VNF's hooks) has any hook at ``point``."""
    return bool((spec or {}).get(point))


def options_from_config(conf):
    """Keyword arguments of :func:`run` from the [hooks] options.

    For an operation to freeze into its job's options, so that a resumed
    job runs its hooks as it started to.
    """
    return {'output_limit': conf.hooks.output_limit,
            'pass_env': list(conf.hooks.pass_env)}


#: The definitions of the plan schema that describe hooks.
SCHEMA_DEFS = ('hooks', 'hook', 'hook_timeout', 'command_hook',
               'webhook_hook', 'hook_secret')


@functools.lru_cache(maxsize=1)
def schema():
    """The JSON Schema of a VNF's hooks, for other schemas and tools.

    Its definitions are those of the plan schema (the one source of the
    format), in a document of their own.
    """
    with open(SCHEMA_FILE) as f:
        plan_schema = json.load(f)
    return {'$schema': plan_schema['$schema'],
            '$id': 'https://geoflows.dev/schemas/hooks.schema.json',
            'title': 'geoflows consistency hooks',
            'description': 'The hooks of one VNF, by hook point.',
            '$ref': '#/$defs/hooks',
            '$defs': {name: plan_schema['$defs'][name]
                      for name in SCHEMA_DEFS}}


def run(spec, payload, point, secret_resolver=None, log_name=__name__,
        output_limit=OUTPUT_LIMIT, pass_env=PASS_ENV):
    """Run the hooks of ``point`` from ``spec`` (a VNF's hooks) in order.

    :param payload: from :func:`make_payload` for the same point.
    :param secret_resolver: a :class:`geoflows.secrets.SecretResolver`
        for the secret sources of headers and environment variables (by
        default one that reads ``env`` and ``file`` sources).
    :param log_name: the logger to log to.
    :returns: a :class:`PointResult` (no hooks at ``point``: ``ok`` with
        none).
    :raises geoflows.exceptions.HookError: a hook failed; the hooks after
        it do not run, except at the points of :data:`KEEP_GOING`, where
        they all run before the first failure is raised.
    """
    if point not in POINTS:
        raise ValueError('unknown hook point %r' % (point,))
    if payload.get('point') != point:
        raise ValueError('the payload is for hook point %r, not %r'
                         % (payload.get('point'), point))
    hooks = list((spec or {}).get(point) or [])
    runner = _Runner(payload, point, len(hooks),
                     secret_resolver or _default_resolver(),
                     logging.getLogger(log_name), output_limit,
                     tuple(pass_env))
    started = time.monotonic()
    results, failures = [], []
    for index, hook in enumerate(hooks):
        try:
            result = runner.run(index, hook)
        except exceptions.HookError as e:
            failures.append(e)
            results.append(e.result)
            if point not in KEEP_GOING:
                break
            continue
        results.append(result.to_dict())
    drained = None
    if point == DRAIN:
        drained = not failures and all(r['drained'] for r in results)
    outcome = PointResult(point=point, ok=not failures,
                          duration=_seconds(time.monotonic() - started),
                          hooks=results, skipped=len(hooks) - len(results),
                          drained=drained)
    if failures:
        first = failures[0]
        message = str(first)
        if len(failures) > 1:
            message += ' (and %d more of the %d %s hooks failed)' % (
                len(failures) - 1, len(hooks), point)
        raise exceptions.HookError(message, point=point, reason=first.reason,
                                   result=first.result,
                                   results=outcome.to_dict())
    return outcome


@functools.lru_cache(maxsize=1)
def _default_resolver():
    # Hooks only use env and file sources: no master key needed.
    return secrets.SecretResolver(None)


def _seconds(value):
    return round(value, 3)


def display_url(url):
    """``url`` without credentials, query or fragment (safe to print)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ''
        if ':' in host:
            host = '[%s]' % host
        if parts.port is not None:
            host = '%s:%d' % (host, parts.port)
    except ValueError:
        return '<invalid URL>'
    return urllib.parse.urlunsplit(
        (parts.scheme, host, parts.path, '...' if parts.query else '', ''))


def _document(payload):
    """The bytes a hook receives: the same for commands and webhooks."""
    return (json.dumps(payload) + '\n').encode()


def _one_line(text, limit=_QUOTE):
    """The end of ``text`` on one line, at most ``limit`` characters."""
    text = ' | '.join(line.strip() for line in text.splitlines()
                      if line.strip())
    if len(text) > limit:
        text = '...' + text[-limit:]
    return text


class _Bounded(object):
    """The bytes of a stream, at most ``limit`` (and some slack) kept.

    ``keep`` is ``tail`` (the end of a command's output) or ``head`` (the
    start of an answer).
    """

    def __init__(self, limit, keep):
        self.limit = limit
        self.cap = limit + _SLACK
        self.keep = keep
        self.data = bytearray()
        self.total = 0

    @property
    def full(self):
        return self.keep == 'head' and len(self.data) >= self.cap

    def add(self, chunk):
        self.total += len(chunk)
        if self.keep == 'head':
            self.data += chunk[:max(0, self.cap - len(self.data))]
        else:
            self.data += chunk
            if len(self.data) > 2 * self.cap:
                del self.data[:-self.cap]

    def text(self):
        """The kept text, masked, at most ``limit`` characters."""
        if self.keep == 'head':
            data = bytes(self.data[:self.cap])
        else:
            data = bytes(self.data[-self.cap:])
        cut = self.total > len(data)
        text = data.decode('utf-8', 'replace')
        if cut:
            # Drop the line the cut went through: a secret in it would be
            # partial, and unknown to mask().
            if self.keep == 'head':
                end = text.rfind('\n')
                text = text[:end] if end >= len(text) - _SLACK else \
                    text[:-_SLACK]
            else:
                start = text.find('\n')
                text = text[start + 1:] if 0 <= start < _SLACK else \
                    text[_SLACK:]
        text = secrets.mask(text)
        if len(text) > self.limit:
            text = text[:self.limit] if self.keep == 'head' else \
                text[-self.limit:]
        return text


def _verdict(text):
    """The ``drained`` verdict in a drain hook's output, None if none.

    The whole output as a JSON object, else its last line that is a JSON
    object with a ``drained`` key.
    """
    candidates = [text.strip()] + [
        line.strip() for line in reversed(text.splitlines())]
    for candidate in candidates:
        if not (candidate.startswith('{') and candidate.endswith('}')):
            continue
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict) and 'drained' in data:
            if not isinstance(data['drained'], bool):
                raise ValueError('"drained" is %s, not true or false'
                                 % json.dumps(data['drained']))
            return data['drained']
    return None


class _Failed(Exception):
    """A hook failed: ``reason`` and ``what`` (a phrase) for the message."""

    def __init__(self, reason, what):
        super().__init__(what)
        self.reason = reason
        self.what = what


class _Runner(object):
    """Runs the hooks of one point for one VNF (and server)."""

    def __init__(self, payload, point, count, resolver, log, output_limit,
                 pass_env):
        self.payload = payload
        self.point = point
        self.count = count
        self.resolver = resolver
        self.log = log
        self.output_limit = max(1, int(output_limit))
        self.pass_env = pass_env
        vnf = (payload.get('vnf') or {}).get('name')
        server = (payload.get('server') or {}).get('name')
        self.about = 'VNF %r' % (vnf,) + (
            ', server %r' % (server,) if server else '')

    def name(self, index, result):
        return '%s hook %d/%d (%s %s) for %s' % (
            self.point, index + 1, self.count, result.kind, result.target,
            self.about)

    def run(self, index, hook):
        if 'webhook' in hook:
            result = HookResult(self.point, index, 'webhook',
                                secrets.mask(display_url(hook['webhook'])))
            call = self._webhook
        else:
            result = HookResult(self.point, index, 'command',
                                secrets.mask(hook['command'][0]))
            call = self._command
        name = self.name(index, result)
        self.log.info('Running %s', name)
        started = time.monotonic()
        try:
            try:
                output = call(hook, result)
                if self.point == DRAIN:
                    self._judge(result, output)
            finally:
                result.duration = _seconds(time.monotonic() - started)
        except _Failed as e:
            result.error = e.reason
            message = '%s: %s' % (name, secrets.mask(e.what))
            quote = _one_line(result.output)
            if quote:
                message += '; output: %s' % quote
            self.log.warning('%s', message)
            if result.output:
                self.log.debug('Output of %s:\n%s', name, result.output)
            raise exceptions.HookError(
                message, point=self.point, reason=e.reason,
                result=result.to_dict()) from None
        result.ok = True
        self.log.info('%s: ok in %.1f s%s', name, result.duration,
                      {True: ', drained', False: ', not drained yet',
                       None: ''}[result.drained])
        if result.output:
            self.log.debug('Output of %s:\n%s', name, result.output)
        return result

    def _judge(self, result, text):
        try:
            verdict = _verdict(text)
        except ValueError as e:
            raise _Failed('verdict', 'its drain verdict is not valid: %s '
                          '(expected {"drained": true} or {"drained": '
                          'false})' % e)
        # A hook that succeeds without saying otherwise has drained.
        result.drained = True if verdict is None else verdict

    def _secret(self, source, what):
        """The value of a secret source (registered for masking)."""
        if not (source.get('env') or source.get('file')):
            raise _Failed('secret', '%s: a secret source needs env or file'
                          % what)
        purpose = '%s hook for %s' % (self.point, self.about)
        try:
            value = self.resolver.resolve(
                {key: source[key] for key in ('env', 'file')
                 if source.get(key)}, purpose, what=what)
        except exceptions.ConfigError as e:
            # The message starts with the purpose, which ours already says.
            message = str(e)
            if message.startswith(purpose + ': '):
                message = message[len(purpose) + 2:]
            raise _Failed('secret', message)
        return source.get('prefix', '') + value

    # Commands

    def _environment(self, hook):
        env = {name: os.environ[name] for name in self.pass_env
               if name in os.environ}
        env.setdefault('PATH', DEFAULT_PATH)
        env.setdefault('LANG', 'C.UTF-8')
        for name, value in sorted((hook.get('env') or {}).items()):
            if isinstance(value, dict):
                value = self._secret(value,
                                     'secret of environment variable %s'
                                     % name)
            env[name] = str(value)
        # Last, so that a hook's env cannot hide them.
        env.update(self._geoflows_env())
        return env

    def _geoflows_env(self):
        payload = self.payload
        server = payload.get('server') or {}
        vnf = payload.get('vnf') or {}

        def text(value):
            return '' if value is None else str(value)

        return {
            'GEOFLOWS_HOOK_POINT': self.point,
            'GEOFLOWS_HOOK_KEY': text(payload.get('key')),
            'GEOFLOWS_PLAN': text(payload.get('plan')),
            'GEOFLOWS_GROUP': text(payload.get('group')),
            'GEOFLOWS_VNF': text(vnf.get('name')),
            'GEOFLOWS_SERVER': text(server.get('name')),
            'GEOFLOWS_SERVER_ID': text(server.get('id')),
            'GEOFLOWS_SITE': text(server.get('site')),
            'GEOFLOWS_JOB_ID': text(payload.get('job_id')),
            'GEOFLOWS_DRILL': 'true' if payload.get('drill') else 'false',
            'GEOFLOWS_ATTEMPT': text(payload.get('attempt')),
            'GEOFLOWS_REVERTING': ('true' if payload.get('reverting')
                                   else 'false'),
        }

    @staticmethod
    def _executable(program, path):
        if os.path.isabs(program):
            return program
        if '/' in program:
            raise _Failed('not_found', 'the command %r is a relative path; '
                          'give an absolute path or a name on PATH'
                          % program)
        found = shutil.which(program, path=path)
        if not found:
            raise _Failed('not_found', 'command %r not found on PATH (%s)'
                          % (program, path))
        return found

    def _command(self, hook, result):
        argv = [str(arg) for arg in hook['command']]
        timeout = float(hook.get('timeout', COMMAND_TIMEOUT))
        env = self._environment(hook)
        executable = self._executable(argv[0], env['PATH'])
        output = _Bounded(self.output_limit, 'tail')
        document = _document(self.payload)
        with tempfile.TemporaryDirectory(
                prefix='geoflows-hook-', ignore_cleanup_errors=True) as cwd, \
                tempfile.TemporaryFile() as stdin:
            # A file, not a pipe: a hook that never reads its input cannot
            # block the controller.
            stdin.write(document)
            stdin.seek(0)
            try:
                process = subprocess.Popen(
                    argv, executable=executable, stdin=stdin,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    cwd=cwd, env=env, start_new_session=True,
                    close_fds=True)
            except OSError as e:
                raise self._exec_error(executable, e)
            try:
                timed_out = self._collect(process, output, timeout)
            except BaseException:
                _kill_group(process)  # never leave a hook running unwatched
                raise
            finally:
                process.stdout.close()
        result.output = output.text()
        result.output_bytes = output.total
        if timed_out:
            raise _Failed('timeout', 'timeout after %s s (its process group '
                          'was killed)' % _format_seconds(timeout))
        status = process.returncode
        if status < 0:
            result.exit_status = status
            raise _Failed('signal', 'killed by signal %s'
                          % _signal_name(-status))
        result.exit_status = status
        if status != 0:
            raise _Failed('exit', 'exit status %d' % status)
        return result.output

    @staticmethod
    def _exec_error(executable, error):
        if isinstance(error, FileNotFoundError):
            if os.path.exists(executable):
                return _Failed('not_found', 'cannot run %s: the interpreter '
                               'on its #! line was not found' % executable)
            return _Failed('not_found', 'command %s not found' % executable)
        if isinstance(error, PermissionError):
            return _Failed('not_executable', 'cannot run %s: not executable '
                           '(%s)' % (executable, error.strerror))
        return _Failed('exec', 'cannot run %s: %s' % (
            executable, error.strerror or error))

    def _collect(self, process, output, timeout):
        """Read the output until the end or the timeout.

        Returns whether the command timed out (its group is then killed).
        """
        deadline = time.monotonic() + timeout
        fd = process.stdout.fileno()
        exited_at = None
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                if process.poll() is not None:
                    if exited_at is None:
                        exited_at = now
                    elif now - exited_at >= _EXIT_GRACE:
                        # A process it left behind holds the output open.
                        self.log.warning(
                            '%s hook for %s left processes running that '
                            'hold its output open; their output is not '
                            'read', self.point, self.about)
                        break
                if selector.select(min(deadline - now, 0.2)):
                    chunk = os.read(fd, _CHUNK)
                    if not chunk:
                        break
                    output.add(chunk)
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
            return False
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return True

    # Webhooks

    def _webhook(self, hook, result):
        url = hook['webhook']
        timeout = float(hook.get('timeout', WEBHOOK_TIMEOUT))
        verify = hook.get('verify', True)
        if isinstance(verify, str):
            verify = os.path.expanduser(verify)
        headers = {'User-Agent': 'geoflows-hooks',
                   'Accept': 'application/json, text/plain, */*',
                   'Content-Type': 'application/json'}
        for name, value in sorted((hook.get('headers') or {}).items()):
            if isinstance(value, dict):
                value = self._secret(value, 'secret of header %s' % name)
            headers[name] = str(value)
        import requests  # only where a webhook is called: plans check fast
        body = _Bounded(self.output_limit, 'head')
        deadline = time.monotonic() + timeout
        session = requests.Session()
        # No proxy or .netrc credentials from the controller's environment.
        session.trust_env = False
        try:
            with session:
                response = session.post(
                    url, data=_document(self.payload), headers=headers,
                    timeout=(timeout, timeout), verify=verify,
                    allow_redirects=False, stream=True)
                with response:
                    result.http_status = response.status_code
                    for chunk in response.iter_content(_CHUNK):
                        body.add(chunk)
                        if body.full:
                            break
                        if time.monotonic() > deadline:
                            raise requests.exceptions.ReadTimeout()
        except requests.exceptions.RequestException as e:
            result.output = body.text()
            result.output_bytes = body.total
            raise _request_error(e, url, timeout)
        except OSError as e:
            if isinstance(verify, str):
                # requests' check of the CA bundle path
                raise _Failed('tls', 'cannot use the CA bundle %s: %s'
                              % (verify, e))
            raise _Failed('request', 'the request failed: %s'
                          % (e.strerror or e))
        result.output = body.text()
        result.output_bytes = body.total
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get('Location')
            raise _Failed('redirect', 'HTTP %d redirect to %s (webhooks are '
                          'not redirected: give the final URL in the plan)'
                          % (status, display_url(
                              urllib.parse.urljoin(url, location or ''))))
        if not 200 <= status < 300:
            raise _Failed('http', 'HTTP %d %s'
                          % (status, response.reason or ''))
        return result.output


def _request_error(error, url, timeout):
    """A :class:`_Failed` for an exception of requests."""
    import requests
    text = str(error)
    parts = urllib.parse.urlsplit(url)
    where = '%s:%s' % (parts.hostname, parts.port or (
        443 if parts.scheme.lower() == 'https' else 80))
    if isinstance(error, requests.exceptions.SSLError):
        found = re.search(r'certificate verify failed: ([^(\'"]+)', text)
        if found:
            return _Failed('tls', 'TLS certificate verify failed (%s); for a '
                           'private CA, give its bundle with "verify: PATH"'
                           % found.group(1).strip())
        found = re.search(r'\[SSL[^\]]*\] ([^(\'"]+)', text)
        return _Failed('tls', 'TLS error with %s (%s)' % (
            where, found.group(1).strip() if found else 'see the server'))
    if isinstance(error, requests.exceptions.Timeout) or \
            'timed out' in text.lower():
        return _Failed('timeout', 'timeout after %s s'
                       % _format_seconds(timeout))
    if isinstance(error, requests.exceptions.ConnectionError):
        found = re.search(r'\[Errno -?\d+\] ([^\'")]+)', text)
        if found:
            why = found.group(1).strip()
        elif 'RemoteDisconnected' in text or 'Connection aborted' in text:
            why = 'the server closed the connection without answering'
        else:
            why = 'connection failed'
        return _Failed('connect', 'cannot connect to %s (%s)' % (where, why))
    return _Failed('request', 'the request failed: %s'
                   % (type(error).__name__,))


def _kill_group(process):
    """SIGTERM, then SIGKILL, the process group of ``process``."""
    for sig, wait in ((signal.SIGTERM, _KILL_GRACE), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass


def _signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _format_seconds(value):
    return ('%d' % value) if float(value).is_integer() else ('%g' % value)


# Checks of a spec that the JSON Schema cannot make.

def spec_problems(spec):
    """What is wrong with ``spec`` (a VNF's hooks, schema-valid).

    Returns ``[(path, message)]``, paths relative to ``spec``.
    """
    problems = []
    for point, index, hook in _hooks(spec):
        base = (point, index)
        if 'webhook' in hook:
            problems.extend(_webhook_problems(base, hook))
        else:
            problems.extend(_command_problems(base, hook))
    return problems


def spec_warnings(spec):
    """What is risky in ``spec`` but allowed: ``[(path, message)]``."""
    warnings = []
    for point, index, hook in _hooks(spec):
        base = (point, index)
        if 'webhook' not in hook:
            continue
        parts = urllib.parse.urlsplit(hook['webhook'])
        https = parts.scheme.lower() == 'https'
        if hook.get('verify', True) is False and https:
            warnings.append((base + ('verify',), (
                'TLS verification is off: anyone between the controller and '
                'the webhook can impersonate it; give the CA bundle instead')))
        if not https and 'verify' in hook:
            warnings.append((base + ('verify',),
                             'verify has no effect on an http URL'))
        if not https and not _loopback(parts.hostname):
            secret = sorted(name for name, value in _mapping(
                hook.get('headers')).items() if isinstance(value, dict))
            warnings.append((base + ('webhook',), (
                'plain http: the payload%s travel%s unencrypted; https is '
                'recommended' % (
                    ' and header %s' % ', '.join(secret) if secret else '',
                    '' if secret else 's'))))
    for point, release in sorted(RELEASES.items()):
        if has_hooks(spec, point) and not has_hooks(spec, release):
            warnings.append(((point,), (
                'there are %s hooks but no %s hook: nothing releases what '
                'they take' % (point, release))))
    return warnings


def _hooks(spec):
    for point in POINTS:
        for index, hook in enumerate((spec or {}).get(point) or []):
            # What the schema refused has its own problem already.
            if isinstance(hook, dict) and (
                    isinstance(hook.get('webhook'), str) or
                    (hook.get('command') and
                     isinstance(hook['command'], list) and
                     all(isinstance(a, str) for a in hook['command']))):
                yield point, index, hook


def _mapping(value):
    return value if isinstance(value, dict) else {}


def _loopback(host):
    return host in ('localhost', '127.0.0.1', '::1') or \
        (host or '').startswith('127.')


def _source_problems(path, source, what):
    problems = []
    if source.get('env') and source.get('file'):
        problems.append((path, 'give one of env or file, not both'))
    path_ = source.get('file')
    if path_ and not (os.path.isabs(path_) or path_.startswith('~')):
        problems.append((path + ('file',), (
            '%r is a relative path: give the %s file as an absolute path'
            % (path_, what))))
    return problems


def _command_problems(base, hook):
    problems = []
    argv = hook['command']
    program = argv[0]
    if not os.path.isabs(program) and '/' in program:
        problems.append((base + ('command', 0), (
            '%r is a relative path, which depends on the controller\'s '
            'working directory: give an absolute path or a bare name '
            'looked up on PATH' % program)))
    for i, arg in enumerate(argv[1:], 1):
        if _SECRET_ARG.search(arg):
            problems.append((base + ('command', i), (
                'this argument looks like a secret, and a secret is never '
                'written in a plan: pass it in env from {env: VARIABLE} or '
                '{file: PATH}')))
    for name, value in sorted(_mapping(hook.get('env')).items()):
        path = base + ('env', name)
        if name.upper().startswith('GEOFLOWS_'):
            problems.append((path, (
                '%s: the GEOFLOWS_ variables are set by geoflows' % name)))
        if isinstance(value, dict):
            problems.extend(_source_problems(path, value, 'secret'))
        elif isinstance(value, str) and value and _SECRET_NAME.search(name):
            problems.append((path, (
                '%s looks like a secret, which is never written in a plan: '
                'use {env: VARIABLE} or {file: PATH}' % name)))
    return problems


def _webhook_problems(base, hook):
    problems = []
    url = hook['webhook']
    path = base + ('webhook',)
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        parts.port  # a port that is not a number raises here
    except ValueError as e:
        return [(path, '%r is not a valid URL: %s' % (url, e))]
    if parts.scheme.lower() not in ('http', 'https'):
        problems.append((path, 'the URL must be http or https'))
    if not host:
        problems.append((path, '%r has no host' % display_url(url)))
    if parts.username or parts.password:
        problems.append((path, (
            'credentials in the URL would be written in the plan: send '
            'them in a header from {env: VARIABLE} or {file: PATH}')))
    for name, _value in urllib.parse.parse_qsl(parts.query,
                                               keep_blank_values=True):
        if _SECRET_NAME.search(name):
            problems.append((path, (
                'the query parameter %r looks like a secret, which is never '
                'written in a plan: send it in a header from {env: '
                'VARIABLE} or {file: PATH}' % name)))
    verify = hook.get('verify', True)
    if isinstance(verify, str) and not (os.path.isabs(verify) or
                                        verify.startswith('~')):
        problems.append((base + ('verify',), (
            '%r is a relative path: give the CA bundle as an absolute path, '
            'or true for the system\'s CA bundle' % verify)))
    for name, value in sorted(_mapping(hook.get('headers')).items()):
        hpath = base + ('headers', name)
        if name.lower() in _RESERVED_HEADERS:
            problems.append((hpath, '%s is set by geoflows' % name))
        if isinstance(value, dict):
            problems.extend(_source_problems(hpath, value, 'token'))
        elif isinstance(value, str) and (_SECRET_NAME.search(name) or
                                         _CLEAR_CREDENTIAL.match(value)):
            problems.append((hpath, (
                'the value of %s would be a secret written in the plan: use '
                '{env: VARIABLE} or {file: PATH} (with prefix: "Bearer " '
                'if needed)' % name)))
    return problems
