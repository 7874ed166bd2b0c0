"""What the fake proxies share.

* :class:`FakeResource`: what a proxy returns, read like an openstacksdk
  resource (``port.mac_address``, ``port['mac_address']``);
* :class:`Table`: the rows of one kind, in the order they were added,
  with indexes that follow the rows as they change;
* :class:`FakeProxy`: the tables of one service of one site, and the
  helpers to add, find, list, update and delete their rows;
* :func:`http_error` and :class:`FakeResponse`: the exceptions and raw
  responses openstacksdk gives for an API's answer;
* :class:`Workers` and :class:`_Instrumented`: the latency, concurrency cap,
  call counts and injected faults of a site's API, the same for every
  proxy.
"""

import collections
import copy
import datetime
import heapq
import itertools
import json
import os
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

    A row stored in a :class:`Table` tells the table when a key changes,
    whichever way it is changed (``row[key] = value``, ``update``,
    ``pop``, ``setdefault``, ``del``...), so that the table's indexes
    follow it.  An index of a field's value needs nothing more (a value
    that can change in place, a list or a dict, is not hashable: the
    index leaves it to a check of the row); one that reads the inside of
    a list (a port's fixed IPs) needs the list replaced, not changed in
    place.
    """

    known = frozenset()
    #: (table, key) pairs where the row is stored (see Table)
    _fake_owners = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            if name in self.known:
                return None
            raise AttributeError(name)

    def to_dict(self):
        return dict(self)

    # -- changes, told to the tables that hold the row ---------------------

    def _changed(self, keys):
        for table, row_key in self._fake_owners:
            table._row_changed(row_key, keys)

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        if self._fake_owners:
            self._changed((key,))

    def __delitem__(self, key):
        dict.__delitem__(self, key)
        if self._fake_owners:
            self._changed((key,))

    def update(self, *args, **kwargs):
        if not self._fake_owners:
            return dict.update(self, *args, **kwargs)
        changes = dict(*args, **kwargs)  # as dict.update reads them
        dict.update(self, changes)
        self._changed(tuple(changes))

    def __ior__(self, other):
        if not self._fake_owners:
            return dict.__ior__(self, other)
        changes = dict(other)
        dict.update(self, changes)
        self._changed(tuple(changes))
        return self

    def pop(self, key, *default):
        had = key in self
        value = dict.pop(self, key, *default)
        if had and self._fake_owners:
            self._changed((key,))
        return value

    def popitem(self):
        item = dict.popitem(self)
        if self._fake_owners:
            self._changed((item[0],))
        return item

    def setdefault(self, key, default=None):
        had = key in self
        value = dict.setdefault(self, key, default)
        if not had and self._fake_owners:
            self._changed((key,))
        return value

    def clear(self):
        keys = tuple(self)
        dict.clear(self)
        if self._fake_owners:
            self._changed(keys)

    # -- copies: of the keys and values, never of where the row is stored --

    def __copy__(self):
        return type(self)(self)

    def __deepcopy__(self, memo):
        twin = type(self)()
        memo[id(self)] = twin
        for key, value in self.items():
            dict.__setitem__(twin, copy.deepcopy(key, memo),
                             copy.deepcopy(value, memo))
        return twin

    def __reduce__(self):
        return type(self), (dict(self),)


#: Whether every indexed lookup is checked against a scan of the table
#: (slow: for test runs that prove the indexes right).
CHECK_INDEXES = bool(os.environ.get('GEOFLOWS_FAKECLOUD_CHECK_INDEXES'))
_LOOSE = object()  # where a row is whose keys cannot be had or hashed


def _same(one, other):
    return len(one) == len(other) and all(
        a is b for a, b in zip(one, other))


class _Index(object):
    """The keys of a table's rows by what ``keys_of(row[field])`` gives.

    A row whose keys cannot be computed or hashed is *loose*: it is a
    candidate of every lookup, and callers check the rows they get.
    """

    __slots__ = ('field', 'keys_of', 'buckets', 'loose', 'where')

    def __init__(self, field, keys_of):
        self.field = field
        self.keys_of = keys_of
        self.buckets = {}  # {key: {row key: None}}
        self.loose = {}  # {row key: None}
        self.where = {}  # {row key: its keys, or _LOOSE}

    def add(self, row_key, row):
        try:
            value = row.get(self.field)
            keys = ((value,) if self.keys_of is None
                    else tuple(self.keys_of(value)))
            for key in keys:
                hash(key)
        except Exception:
            self.loose[row_key] = None
            self.where[row_key] = _LOOSE
            return
        for key in keys:
            self.buckets.setdefault(key, {})[row_key] = None
        self.where[row_key] = keys

    def remove(self, row_key):
        keys = self.where.pop(row_key, None)
        if keys is _LOOSE:
            del self.loose[row_key]
            return
        for key in keys or ():
            bucket = self.buckets.get(key)
            if bucket is not None:
                bucket.pop(row_key, None)
                if not bucket:
                    del self.buckets[key]

    def candidates(self, key):
        """The row keys that may have ``key`` (not in table order)."""
        bucket = self.buckets.get(key, ())
        if not self.loose:
            return bucket
        return list(bucket) + [k for k in self.loose if k not in bucket]


class Table(collections.OrderedDict):
    """The rows of one kind by id, in the order they were added.

    Lookups by field (:meth:`select`, :meth:`candidates`) use indexes,
    each made at its first use and then kept up to date: rows
    (FakeResources) tell the tables that hold them of every change, and
    the table of every row added, replaced or removed.  A lookup gives
    the rows in table order, checked against their current values, so
    that it answers what a scan of the table would.
    """

    def __init__(self, *args, **kwargs):
        self._indexes = {}  # {(field, keys_of): _Index}
        self._by_field = {}  # {field: [_Index]}
        self._position = {}  # {row key: its rank in the table's order}
        self._last = 0
        self._first = 0
        super().__init__()
        self.update(*args, **kwargs)

    # -- rows in and out ---------------------------------------------------

    def __setitem__(self, key, row):
        if not isinstance(row, FakeResource):
            raise TypeError('a table holds FakeResources, not %s'
                            % type(row).__name__)
        old = self.get(key)
        if old is row:
            return
        if old is not None:
            self._forget(key, old)
        else:
            self._last += 1
            self._position[key] = self._last
        super().__setitem__(key, row)
        row._fake_owners = row._fake_owners + ((self, key),)
        for index in self._indexes.values():
            index.add(key, row)

    def _forget(self, key, row):
        for index in self._indexes.values():
            index.remove(key)
        row._fake_owners = tuple(
            (table, row_key) for table, row_key in row._fake_owners
            if table is not self or row_key != key)

    def __delitem__(self, key):
        row = self[key]
        super().__delitem__(key)
        self._forget(key, row)
        del self._position[key]

    def pop(self, key, *default):
        if key not in self:
            if default:
                return default[0]
            raise KeyError(key)
        row = self[key]
        del self[key]
        return row

    def popitem(self, last=True):
        if not self:
            raise KeyError('dictionary is empty')
        key = next(reversed(self)) if last else next(iter(self))
        return key, self.pop(key)

    def clear(self):
        for key in list(self):
            del self[key]

    def update(self, *args, **kwargs):
        for key, row in dict(*args, **kwargs).items():
            self[key] = row

    def __ior__(self, other):
        self.update(other)
        return self

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def move_to_end(self, key, last=True):
        super().move_to_end(key, last)
        if last:
            self._last += 1
            self._position[key] = self._last
        else:
            self._first -= 1
            self._position[key] = self._first

    def __copy__(self):
        return type(self)(self)

    def __deepcopy__(self, memo):
        twin = type(self)()
        memo[id(self)] = twin
        for key, row in self.items():
            twin[copy.deepcopy(key, memo)] = copy.deepcopy(row, memo)
        return twin

    def __reduce__(self):
        return type(self), (), None, None, iter(self.items())

    def _row_changed(self, row_key, fields):
        for field in fields:
            for index in self._by_field.get(field, ()):
                index.remove(row_key)
                index.add(row_key, self[row_key])

    # -- lookups -----------------------------------------------------------

    def _index(self, field, keys_of=None):
        index = self._indexes.get((field, keys_of))
        if index is None:
            index = _Index(field, keys_of)
            for key, row in self.items():
                index.add(key, row)
            self._indexes[(field, keys_of)] = index
            self._by_field.setdefault(field, []).append(index)
        return index

    def _in_order(self, row_keys):
        return [self[k] for k in sorted(row_keys,
                                        key=self._position.__getitem__)]

    def candidates(self, field, keys, keys_of=None):
        """The rows that may have every key of ``keys``.

        A row's keys are what ``keys_of(row.get(field))`` gives (an
        iterable of hashable keys), or without ``keys_of``
        ``row.get(field)`` itself.  All the rows that have them come, in
        table order, with maybe others: the caller checks them.
        """
        index = self._index(field, keys_of)
        if not keys:
            return list(self.values())
        buckets = sorted((index.buckets.get(key, {}) for key in keys),
                         key=len)
        found = buckets[0].keys()
        for bucket in buckets[1:]:
            if not found:
                break
            found = found & bucket.keys()
        return self._in_order(set(found).union(index.loose))

    def unreadable(self, field, keys_of):
        """The rows whose keys ``keys_of`` cannot give, in table order."""
        return self._in_order(self._index(field, keys_of).loose)

    def select_any(self, conditions):
        """The rows where ``row.get(field) == value`` for some condition.

        ``conditions``: (field, value) pairs.  The rows come in table
        order, as a scan finds them.
        """
        try:
            keys = {}
            for field, value in conditions:
                keys.update(dict.fromkeys(
                    self._index(field).candidates(value)))
            rows = self._in_order(keys)
        except TypeError:  # a value that is not hashable
            rows = self.values()
        found = [r for r in rows
                 if any(r.get(k) == v for k, v in conditions)]
        if CHECK_INDEXES:
            scan = [r for r in self.values()
                    if any(r.get(k) == v for k, v in conditions)]
            if not _same(found, scan):
                raise AssertionError('index lookup %r found %r, a scan %r'
                                     % (conditions, found, scan))
        return found

    def select(self, conditions):
        """The rows where ``row.get(field) == value`` for every condition.

        ``conditions``: (field, value) pairs.  The rows come in table
        order, as a scan finds them.
        """
        if not conditions:
            return list(self.values())
        best = None
        for field, value in conditions:
            try:
                hash(value)
            except TypeError:
                continue
            keys = self._index(field).candidates(value)
            if best is None or len(keys) < len(best):
                best = keys
                if not best:
                    break
        rows = self.values() if best is None else self._in_order(best)
        found = [r for r in rows if all(r.get(k) == v for k, v in conditions)]
        if CHECK_INDEXES:
            scan = [r for r in self.values()
                    if all(r.get(k) == v for k, v in conditions)]
            if not _same(found, scan):
                raise AssertionError('index lookup %r found %r, a scan %r'
                                     % (conditions, found, scan))
        return found

    def check(self):
        """Raise AssertionError if an index disagrees with the rows."""
        for (field, keys_of), index in self._indexes.items():
            fresh = _Index(field, keys_of)
            for key, row in self.items():
                fresh.add(key, row)
            if (fresh.where != index.where or fresh.loose != index.loose or
                    {k: set(v) for k, v in fresh.buckets.items()} !=
                    {k: set(v) for k, v in index.buckets.items()}):
                raise AssertionError('the index of %s is out of date' % field)
        for key, row in self.items():
            if not any(table is self and row_key == key
                       for table, row_key in row._fake_owners):
                raise AssertionError('row %s does not know its table' % key)
        if set(self._position) != set(self) or [
                self._position[k] for k in self] != sorted(
                    self._position.values()):
            raise AssertionError('the order of the table is out of date')


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
        self._tables = collections.defaultdict(Table)
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
        """The stored rows that match ``query`` (None matches anything)."""
        return self._tables[kind].select(
            [(k, v) for k, v in query.items() if v is not None])

    def _list(self, kind, **query):
        return [self._out(kind, r) for r in self._rows(kind, **query)]

    def _delete(self, kind, resource_id, ignore_missing):
        resource_id = ident(resource_id)
        if resource_id not in self._tables[kind]:
            if ignore_missing:
                return
            raise self._not_found(kind, resource_id)
        del self._tables[kind][resource_id]

    def _find(self, kind, name_or_id, ignore_missing, query=None):
        """By id, else by name among the rows that match ``query``."""
        if name_or_id in self._tables[kind]:
            return self._out(kind, self._tables[kind][name_or_id])
        found = self._tables[kind].select(
            [(k, v) for k, v in (query or {}).items() if v is not None] +
            [('name', name_or_id)])
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
