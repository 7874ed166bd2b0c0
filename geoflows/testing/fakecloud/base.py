"""What the fake proxies share.

* :class:`FakeResource`: what a proxy returns, read like an openstacksdk
  resource (``port.mac_address``, ``port['mac_address']``);
* :class:`FakeProxy`: the tables of one service of one site, and the
  helpers to add, find, list, update and delete their rows;
* :func:`http_error` and :class:`FakeResponse`: the exceptions and raw
  responses openstacksdk gives for an API's answer;
* :class:`Workers` and :class:`_Instrumented`: the latency, concurrency cap,
  call counts and injected faults of a site's API, the same for every
  proxy.
"""

import collections
import datetime
import heapq
import itertools
import json
import threading
import time
import types

from openstack import exceptions as os_exc

_ids = itertools.count(1)


def new_id(kind):
    return '%s-%06d' % (kind, next(_ids))


def now():
    """A timestamp as the APIs write them (UTC, ISO 8601)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%S.%f')


def ident(resource_or_id):
    """The id of a resource or of an id (as the proxies accept both)."""
    return getattr(resource_or_id, 'id', resource_or_id)


class FakeResource(dict):
    """A resource: a dict whose keys read as attributes.

    Subclasses made by :func:`resource_type` know the attributes of an
    openstacksdk resource class: one that is not set reads as None, as on
    the SDK's resources, while a name the SDK does not know raises
    AttributeError.
    """

    known = frozenset()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            if name in self.known:
                return None
            raise AttributeError(name)

    def to_dict(self):
        return dict(self)


_types = {}


def resource_type(sdk_class):
    """A FakeResource class with the attribute names of ``sdk_class``."""
    if sdk_class not in _types:
        names = set()
        for attr, component in sdk_class._attributes_iterator():
            names.add(attr)
            if component.aka:
                names.add(component.aka)
        _types[sdk_class] = type('Fake' + sdk_class.__name__,
                                 (FakeResource,), {'known': frozenset(names)})
    return _types[sdk_class]


def copy_value(value):
    """A copy of a stored value: callers may change theirs freely."""
    if isinstance(value, dict):
        return type(value)((k, copy_value(v)) for k, v in value.items())
    if isinstance(value, list):
        return [copy_value(v) for v in value]
    return value


# The error body keys of Nova and Cinder, by status.
_FAULT_KEYS = {400: 'badRequest', 403: 'forbidden', 404: 'itemNotFound',
               409: 'conflictingRequest', 413: 'overLimit'}
_ERRORS = {400: os_exc.BadRequestException, 403: os_exc.ForbiddenException,
           404: os_exc.NotFoundException, 409: os_exc.ConflictException,
           412: os_exc.PreconditionFailedException}


class FakeResponse(object):
    """A raw answer: what ``proxy.get(path)``/``post`` return.

    It has the parts of :class:`requests.Response` that callers and
    :func:`openstack.exceptions.raise_from_response` use.  ``blob`` (a
    :class:`~geoflows.testing.fakecloud.data.Blob`) is a body of data,
    read only when asked for, in chunks if wanted.
    """

    def __init__(self, status_code, body=None, blob=None, url='',
                 method='GET'):
        self.status_code = status_code
        self._body = body
        self._blob = blob
        self.reason = ''
        self.ok = status_code < 400
        self.request = types.SimpleNamespace(url=url, method=method)
        self.url = url
        self.headers = {'content-type': (
            'application/octet-stream' if blob is not None
            else 'application/json')}

    @property
    def content(self):
        if self._blob is not None:
            return self._blob.read()
        if self._body is None:
            return b''
        return json.dumps(self._body).encode()

    @property
    def text(self):
        return self.content.decode('utf-8', 'replace')

    def json(self):
        if self._body is None:
            raise ValueError('no JSON body')
        return copy_value(self._body)

    def iter_content(self, chunk_size=1):
        if self._blob is not None:
            return self._blob.chunks(chunk_size or 1)
        return iter([self.content] if self.content else [])

    def __iter__(self):
        return self.iter_content(128)

    def close(self):
        pass


def error_response(status, message, url, method='GET'):
    """The JSON answer of an API that refused a request."""
    key = _FAULT_KEYS.get(status, 'computeFault')
    return FakeResponse(status, {key: {'code': status, 'message': message}},
                        url=url, method=method)


def http_error(status, message, url='http://fakecloud/'):
    """The exception openstacksdk raises for an error answer.

    Built as :func:`openstack.exceptions.raise_from_response` builds it:
    the class by status, ``status_code``, and the service's message in
    ``details`` (and in ``str(error)``).
    """
    cls = _ERRORS.get(status, os_exc.HttpException)
    return cls(message=None, details=message,
               response=error_response(status, message, url))


class FakeProxy(object):
    """The tables of one service of one site, and their helpers.

    A table maps ids to rows (FakeResources of openstacksdk attribute
    names).
    Keys starting with ``_`` are the fake's own bookkeeping: they are
    never returned, nor listed by inventories.  ``state`` names the
    attributes that hold everything the service knows (what a clone
    copies).
    """

    service = 'service'
    state = ('_tables',)
    #: 404 messages by kind, as the service words them.
    missing = {}
    #: openstacksdk resource classes by kind (see :func:`resource_type`).
    sdk_classes = {}

    def __init__(self, site):
        self._site = site
        self._tables = collections.defaultdict(collections.OrderedDict)
        self._types = {kind: resource_type(cls)
                       for kind, cls in self.sdk_classes.items()}

    # -- errors ---------------------------------------------------------------

    @property
    def _url(self):
        return 'http://fakecloud/%s/%s' % (self._site.name, self.service)

    def _error(self, status, message):
        return http_error(status, message, self._url)

    def _conflict(self, message):
        return self._error(409, message)

    def _bad_request(self, message):
        return self._error(400, message)

    def _not_found(self, kind, resource_id):
        message = self.missing.get(kind, '%s %%s could not be found.' % (
            kind.replace('_', ' ').capitalize()))
        return self._error(404, message % resource_id)

    # -- rows -----------------------------------------------------------------

    def _out(self, kind, row):
        """What a caller gets for ``row``: a copy, with computed fields."""
        resource = self._types.get(kind, FakeResource)({
            k: copy_value(v) if isinstance(v, (dict, list)) else v
            for k, v in row.items() if k[0] != '_'})
        return self._view(kind, row, resource)

    def _view(self, kind, row, resource):
        """Add what the API computes when it shows ``row`` (override)."""
        return resource

    def _add(self, kind, **attrs):
        row = FakeResource(attrs)
        if not row.get('id'):
            row['id'] = new_id(kind)
        self._tables[kind][row['id']] = row
        return self._out(kind, row)

    def _get(self, kind, resource_id):
        """The stored row (not a copy)."""
        resource_id = ident(resource_id)
        try:
            return self._tables[kind][resource_id]
        except (KeyError, TypeError):
            raise self._not_found(kind, resource_id)

    def _rows(self, kind, **query):
        return [r for r in self._tables[kind].values()
                if all(r.get(k) == v for k, v in query.items()
                       if v is not None)]

    def _list(self, kind, **query):
        return [self._out(kind, r) for r in self._rows(kind, **query)]

    def _delete(self, kind, resource_id, ignore_missing):
        resource_id = ident(resource_id)
        if resource_id not in self._tables[kind]:
            if ignore_missing:
                return
            raise self._not_found(kind, resource_id)
        del self._tables[kind][resource_id]

    def _find(self, kind, name_or_id, ignore_missing, rows=None):
        if name_or_id in self._tables[kind]:
            return self._out(kind, self._tables[kind][name_or_id])
        found = [r for r in (self._tables[kind].values() if rows is None
                             else rows) if r.get('name') == name_or_id]
        if len(found) > 1:
            raise os_exc.DuplicateResource('More than one %s exists with '
                                           'the name %s.' % (kind, name_or_id))
        if found:
            return self._out(kind, found[0])
        if ignore_missing:
            return None
        raise self._not_found(kind, name_or_id)

    def _update(self, kind, resource_id, **attrs):
        row = self._get(kind, resource_id)
        row.update(attrs)
        return self._out(kind, row)

    def resources(self, kind):
        """Everything of ``kind`` (for tests)."""
        return self._list(kind)


class Workers(object):
    """A site's API workers: ``cap`` of them, first come first served.

    A call that arrives while every worker is busy starts when the first
    one is done; each call takes the site's latency.  A call's schedule is
    fixed when it arrives, as a server would run it: a worker is free again
    as soon as it has answered, however late the client thread then gets
    to read the answer.
    """

    def __init__(self, cap):
        self._free_at = [0.0] * cap  # a heap: when each worker is free
        self._lock = threading.Lock()

    def reserve(self, now, latency):
        """Schedule a call arriving at ``now``: (start, end)."""
        with self._lock:
            start = max(now, heapq.heappop(self._free_at))
            heapq.heappush(self._free_at, start + latency)
        return start, start + latency

    def serve(self, latency):
        """Wait until a call arriving now is answered."""
        _, end = self.reserve(time.monotonic(), latency)
        wait = end - time.monotonic()
        if wait > 0:
            time.sleep(wait)


class _Instrumented(object):
    """A proxy as callers see it: latency, the cap, faults, counts.

    Every proxy of a site shares the site's workers (one API cap per
    site), lock, call counter and faults.  Calls are counted and faults
    looked up both by method name (``create_server``) and by qualified
    name (``compute.create_server``).
    """

    def __init__(self, site, target, service):
        self._site = site
        self._target = target
        self._service = service

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if name.startswith('_') or not callable(attr):
            return attr
        site = self._site
        qualified = '%s.%s' % (self._service, name)

        def call(*args, **kwargs):
            if site.first_call_at is None:
                site.first_call_at = time.monotonic()
            site.count(name, qualified)
            if site.latency:
                site.workers.serve(site.latency)
            fault = site.take_fault(name, qualified)
            if fault is not None:
                raise fault
            with site.lock:
                started = time.thread_time()
                try:
                    return attr(*args, **kwargs)
                finally:
                    # What a real cloud would spend on its own servers.
                    site.serving_cpu += time.thread_time() - started
        # Made once per method (benchmarks call them a lot).
        setattr(self, name, call)
        return call
