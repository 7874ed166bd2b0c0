"""Building blocks of geoflows' Taskflow tasks.

Every OpenStack resource that geoflows manages is described by a
:class:`Resource`: how to find it (by a deterministic name, so that a step
re-run after a crash finds what the previous attempt made), how to create and
delete it, and what about it is worth recording.  The same few task shapes
are then built from any resource:

``Probe``    records whether the resource exists (read-only).  In a setup
             flow it runs before ``Ensure``, so that the job knows, even
             after a crash, which resources existed before it started.
``Ensure``   creates the resource unless it exists.  Its revert deletes it
             only if it did not exist before the job (it never undoes what an
             earlier job or an operator made).
``Delete``   removes the resource if geoflows made it (teardown).
``Require``  looks up a resource the plan references and fails clearly if
             it is missing.
``WaitActive`` checks a status once; a :class:`PacedRetry` around it paces
             the checks.

Task results are small JSON dicts: the resource's description (``id``,
``name``, ``owned`` and a few kind-specific fields).
"""

import abc
import inspect
import logging
import time

from taskflow import retry
from taskflow import task

from geoflows import clouds
from geoflows import context
from geoflows import exceptions

LOG = logging.getLogger(__name__)


def marker(plan, interconnect):
    """Description geoflows puts on what it creates (proof of ownership)."""
    return 'geoflows plan=%s interconnect=%s' % (plan, interconnect)


def only(items, what):
    """The single item of ``items``, None if empty; several is an error."""
    items = list(items)
    if len(items) > 1:
        raise exceptions.ResourceError(
            'found %d %s; geoflows expects at most one (ids: %s). Remove the '
            'duplicates, then resume the job.' % (
                len(items), what, ', '.join(i.id for i in items)))
    return items[0] if items else None


class Resource(object, metaclass=abc.ABCMeta):
    """One OpenStack resource of a site.

    :param key: stable key of the resource in its flow, e.g.
        ``local.network.infra``; it names the tasks and their results.
    :param site: the site spec (``name``, ``cloud``, ``region``, ``cell``).
    :param parents: maps input names to the keys of the resources this one
        hangs off (a subnet's ``network``); their descriptions (with an
        ``id``) are passed to the methods below as ``parents``.
    """

    kind = 'resource'
    #: Whether :meth:`find` needs no parent (it is found by itself: a
    #: server whose image is gone is still there).
    found_without_parents = False
    #: The service whose openstacksdk proxy the methods below receive as
    #: their first argument: network, compute, block_storage or image.
    service = 'network'
    #: What to tell the operator when a resource the plan references is
    #: missing (see :class:`Require`).
    missing_hint = 'the plan references it: create it or correct the plan'

    def __init__(self, key, site, name, parents=None, marker=None, after=(),
                 **params):
        self.key = key
        self.site = site
        self.name = name
        self.parents = dict(parents or {})
        self.marker = marker
        # Results that must exist before the resource is created (ordering
        # only: their values are not used).
        self.after = tuple(after)
        self.params = params
        self.ctx = None  # set by the tasks that use the resource

    @property
    def secrets(self):
        return (self.ctx or context.current()).secrets

    @property
    def label(self):
        return '%s %r on site %r' % (self.kind, self.name, self.site['name'])

    @abc.abstractmethod
    def find(self, net, parents):
        """The existing resource (an openstacksdk object), or None."""

    @abc.abstractmethod
    def create(self, net, parents):
        """Create the resource; return the new object."""

    @abc.abstractmethod
    def delete(self, net, resource_id, parents):
        """Delete the resource (NotFound may propagate)."""

    def owned(self, obj, parents):
        """Did geoflows create ``obj`` (for this plan and interconnect)?"""
        return bool(self.marker) and \
            getattr(obj, 'description', None) == self.marker

    def describe(self, obj, parents):
        return {'id': obj.id, 'name': getattr(obj, 'name', None) or
                self.name, 'owned': self.owned(obj, parents)}

    def claim(self, net, obj, parents):
        """Mark ``obj``, which this job created, as geoflows'.

        For resources whose mark cannot be set when they are created; an
        Ensure re-run after a crash calls it again.
        """

    def converge(self, net, obj, parents):
        """Bring an existing ``obj`` in line with the plan.

        Returns what it changed, as {attribute: previous value}, so that a
        revert can put it back; None when nothing changed.
        """
        return None

    def restore(self, net, resource_id, previous, parents):
        """Undo :meth:`converge`."""

    def drift(self, found, parents):
        """Problems of an existing resource's description, as strings."""
        return []


# Taskflow inspects execute() and revert() for every task it builds; a job
# of thousands of units builds thousands of tasks of a few classes.
_ARG_MAPPINGS = {}
#: mappings kept at most: atoms whose inputs carry a VNF's name never share
#: one, and a conductor lives through many takeovers
ARG_MAPPINGS_KEPT = 4096
_BOUND_SIGNATURES = {}  # function -> a stand-in with its bound signature


def _stand_in(executor):
    """A function with ``executor``'s signature, as a bound method has it.

    Taskflow reads the signature of a task's execute() and revert() three
    times each per task; for a bound method, inspect.signature() derives
    it from the function's every time.  A plain function carrying its
    ``__signature__`` is answered at once.  Taskflow only reads it.
    """
    function = getattr(executor, '__func__', None)
    if function is None:
        return executor
    try:
        return _BOUND_SIGNATURES[function]
    except KeyError:
        pass

    def stand_in(*args, **kwargs):
        raise AssertionError('only its signature is read')
    stand_in.__signature__ = inspect.signature(executor)
    _BOUND_SIGNATURES[function] = stand_in
    return stand_in


class _ArgMappingOnce(object):
    """Taskflow's mapping of an atom's arguments, computed cheaply.

    What stays the same per class is the signature of its execute() and
    revert(), which Taskflow reads for every atom: it is kept, on the
    functions (inspect.signature() returns ``__signature__`` when set) and
    on a stand-in for their bound form.  Atoms of the same inputs share
    their mapping; there are few such shapes besides those that carry a
    VNF's name, so the mappings kept are bounded.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ('execute', 'revert'):
            function = cls.__dict__.get(name)
            if inspect.isfunction(function) and \
                    '__signature__' not in function.__dict__:
                function.__signature__ = inspect.signature(function)

    def _build_arg_mapping(self, executor, requires=None, rebind=None,
                           auto_extract=True, ignore_list=None):
        key = (getattr(executor, '__func__', executor), repr(requires),
               repr(rebind), auto_extract, tuple(ignore_list or ()),
               tuple(sorted(self.inject or ())))
        try:
            mapping = _ARG_MAPPINGS[key]
        except KeyError:
            mapping = super()._build_arg_mapping(
                _stand_in(executor), requires=requires, rebind=rebind,
                auto_extract=auto_extract, ignore_list=ignore_list)
            if len(_ARG_MAPPINGS) >= ARG_MAPPINGS_KEPT:
                _ARG_MAPPINGS.clear()
            _ARG_MAPPINGS[key] = mapping
        rebind, required, optional = mapping
        # The sets are immutable; a task may change its own rebind mapping.
        return rebind.copy(), required, optional


class GeoflowsTask(_ArgMappingOnce, task.Task):
    """A step on one site."""

    def __init__(self, name, site, **kwargs):
        super().__init__(name=name, **kwargs)
        self.site = site
        self._context = None

    def bind(self, ctx):
        """Run with ``ctx`` (what the runner provides) from now on."""
        self._context = ctx

    @property
    def ctx(self):
        return self._context or context.current()

    def network(self, site=None):
        return self.client('network', site)

    def client(self, service, site=None):
        """The openstacksdk proxy of ``service`` for ``site``."""
        site = site or self.site
        # The first use of a connection discovers the API's endpoint.
        with clouds.api_errors(site['name'], 'connect to the %s API'
                               % service.replace('_', ' ')):
            proxy = getattr(self.ctx.clouds, service)(site)
        capped = getattr(self.ctx, 'capped', None)
        return capped(proxy, site['name'], service) if capped else proxy

    def api(self, action):
        return clouds.api_errors(self.site['name'], action)


class ResourceTask(GeoflowsTask):
    """A task about one :class:`Resource`; parents arrive as inputs."""

    def bind(self, ctx):
        super().bind(ctx)
        self.resource.ctx = ctx

    def __init__(self, resource, name, requires=(), rebind=None, **kwargs):
        rebind = dict(rebind or {})
        rebind.update(resource.parents)
        super().__init__(name, resource.site,
                         requires=list(requires) + list(resource.parents),
                         rebind=rebind, **kwargs)
        self.resource = resource

    def _parents(self, inputs):
        return {name: inputs[name] for name in self.resource.parents}

    def proxy(self):
        """The proxy of the resource's service on its site."""
        return self.client(self.resource.service)

    def _find(self, net, parents):
        if not self.resource.found_without_parents and \
                any(parent is None for parent in parents.values()):
            return None  # a missing parent has no children
        with self.api('look up %s' % self.resource.label):
            return self.resource.find(net, parents)


class Probe(ResourceTask):
    """Describe the resource as it is now, or None if it does not exist."""

    def __init__(self, resource, provides=None, name=None):
        super().__init__(resource, name or resource.key + '.probe',
                         provides=provides or resource.key + '.before')

    def execute(self, **inputs):
        parents = self._parents(inputs)
        obj = self._find(self.proxy(), parents)
        return self.resource.describe(obj, parents) if obj else None


class Require(ResourceTask):
    """Describe a resource the plan references; fail if it is missing."""

    def __init__(self, resource):
        super().__init__(resource, resource.key, provides=resource.key)

    def execute(self, **inputs):
        parents = self._parents(inputs)
        obj = self._find(self.proxy(), parents)
        if obj is None:
            raise exceptions.ResourceError('%s does not exist; %s' % (
                self.resource.label, self.resource.missing_hint))
        return self.resource.describe(obj, parents)


class Ensure(ResourceTask):
    """Create the resource unless it exists; revert what this job made.

    A revert that cannot delete (the site's API fails) raises: the job then
    records that its revert failed, and ``geoflows job revert`` can be run
    again later.  Swallowing the error would hide a leaked resource.
    """

    def __init__(self, resource):
        super().__init__(resource, resource.key,
                         requires=['before'] + list(resource.after),
                         rebind={'before': resource.key + '.before'},
                         provides=resource.key)

    def execute(self, before, **inputs):
        parents = self._parents(inputs)
        net = self.proxy()
        label = self.resource.label
        obj = self._find(net, parents)
        created = before is None
        if obj is None:
            # Absent: either the job never made it, or it was removed since
            # the probe; either way this job creates it.
            with self.api('create %s' % label):
                obj = self.resource.create(net, parents)
            created = True
            LOG.info('created %s (%s)', label, obj.id)
        elif created:
            LOG.info('found %s (%s), made by an earlier attempt of this '
                     'job', label, obj.id)
        else:
            LOG.info('%s (%s) already exists; using it', label, obj.id)
        previous = None
        with self.api('update %s' % label):
            if created:
                self.resource.claim(net, obj, parents)
            else:
                previous = self.resource.converge(net, obj, parents)
        result = self.resource.describe(obj, parents)
        result['created'] = created
        if previous:
            result['previous'] = previous
        return result

    def revert(self, result, before, **inputs):
        parents = self._parents(inputs)
        net = self.proxy()
        label = self.resource.label
        created = (result.get('created') if isinstance(result, dict)
                   else before is None)
        if not created:
            # It existed before the job: keep it, undo only our changes.
            if isinstance(result, dict) and result.get('previous'):
                with self.api('restore %s' % label):
                    self.resource.restore(net, result['id'],
                                          result['previous'], parents)
                LOG.info('restored %s', label)
            return
        # The job may have created it even if this step failed (e.g. the
        # API created it, then the answer was lost), so look it up rather
        # than trusting ``result``.
        obj = self._find(net, parents)
        if obj is None:
            return
        if not self.resource.owned(obj, parents):
            LOG.warning('not deleting %s (%s): it does not carry geoflows\' '
                        'mark, someone else made it', label, obj.id)
            return
        try:
            with self.api('delete %s' % label):
                self.resource.delete(net, obj.id, parents)
        except clouds.NotFound:
            pass
        LOG.info('reverted: deleted %s (%s)', label, obj.id)


class Delete(ResourceTask):
    """Remove the resource if geoflows made it (used by teardown)."""

    def __init__(self, resource):
        super().__init__(resource, resource.key + '.delete',
                         requires=['found'],
                         rebind={'found': resource.key},
                         provides=resource.key + '.deleted')

    def execute(self, found, **inputs):
        parents = self._parents(inputs)
        if found is None:
            return {'deleted': False, 'reason': 'absent'}
        if not found.get('owned'):
            LOG.info('leaving %s (%s) in place: geoflows did not create it',
                     self.resource.label, found['id'])
            return {'deleted': False, 'reason': 'not created by geoflows'}
        try:
            with self.api('delete %s' % self.resource.label):
                self.resource.delete(self.proxy(), found['id'], parents)
        except clouds.NotFound:
            return {'deleted': False, 'reason': 'absent'}
        LOG.info('deleted %s (%s)', self.resource.label, found['id'])
        return {'deleted': True, 'id': found['id']}


class WaitActive(ResourceTask):
    """Check once that the resource is ACTIVE; raise NotReady otherwise."""

    def __init__(self, resource):
        super().__init__(resource, resource.key + '.active',
                         requires=['current'],
                         rebind={'current': resource.key},
                         provides=resource.key + '.active')

    def execute(self, current, **inputs):
        parents = self._parents(inputs)
        obj = self._find(self.proxy(), parents)
        if obj is None:
            raise exceptions.ResourceError('%s disappeared'
                                           % self.resource.label)
        status = getattr(obj, 'status', None)
        if status == 'ACTIVE':
            return status
        if status == 'ERROR':
            raise exceptions.ResourceError(
                '%s is in ERROR; see the logs of the site\'s network '
                'service, fix the cause, then resume or revert the job'
                % self.resource.label)
        raise exceptions.NotReady('%s is %s, not ACTIVE yet'
                                  % (self.resource.label, status))


class PacedRetry(_ArgMappingOnce, retry.Times):
    """Retry the steps of its subflow while they are NotReady.

    It pauses ``interval`` seconds between attempts.  When the attempts run
    out, or on any other failure, the whole flow is reverted (not only this
    subflow): what waited is part of the unit, which failed.
    """

    def __init__(self, name, attempts, interval):
        super().__init__(attempts=attempts, name=name, revert_all=True)
        self.interval = interval

    def on_failure(self, history, *args, **kwargs):
        failures = history[-1][1] if len(history) else {}
        for failure in failures.values():
            if not failure.check(exceptions.NotReady):
                return retry.REVERT_ALL
        return super().on_failure(history, *args, **kwargs)

    def execute(self, history, *args, **kwargs):
        if len(history):
            time.sleep(self.interval)
        return len(history) + 1


class WaitStatus(ResourceTask):
    """Check once that the resource reached a status; NotReady if not yet.

    ``ready``: the statuses that end the wait; ``failed``: those that mean
    it never will (the unit fails with ``hint``); ``after``: results it
    waits for (ordering only).  Run it alone in a subflow paced by a
    :class:`PacedRetry`: a retry re-runs its subflow.
    """

    def __init__(self, resource, ready=('available',),
                 failed=('error',), hint=None, suffix='ready', after=()):
        super().__init__(resource, '%s.%s' % (resource.key, suffix),
                         requires=['current'] + list(after),
                         rebind={'current': resource.key},
                         provides='%s.%s' % (resource.key, suffix))
        self.ready = tuple(ready)
        self.failed = tuple(failed)
        self.hint = hint or ('see the logs of the site\'s %s service, fix '
                             'the cause, then resume or revert the job'
                             % resource.service.replace('_', ' '))

    def execute(self, current, **inputs):
        parents = self._parents(inputs)
        obj = self._find(self.proxy(), parents)
        if obj is None:
            raise exceptions.ResourceError('%s disappeared'
                                           % self.resource.label)
        status = getattr(obj, 'status', None)
        if status in self.ready:
            return status
        if status in self.failed or (status or '').startswith('error'):
            raise exceptions.ResourceError('%s is %s; %s' % (
                self.resource.label, status, self.hint))
        raise exceptions.NotReady('%s is %s, not %s yet' % (
            self.resource.label, status, ' or '.join(self.ready)))
