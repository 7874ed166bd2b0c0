"""The ``storage`` method: the storage array replicates the volume.

geoflows copies nothing.  The volume's type has Cinder replication (its
extra spec ``replication_enabled`` is ``<is> True``, and the backend has a
``replication_device``): the array keeps the replica at the DR site.  What
geoflows does, through Cinder's replication API:

* at each sync, after the quiesce window: check that the volume is
  replicated (``replication_status`` is ``enabled``; anything else fails
  the sync with the fix: a replicated volume type), and record the
  replica's facts in the checkpoint (status, type, replication group,
  backend host);
* at takeover: fail the replica over, then wait until Cinder says the
  volume is ``failed-over``; the takeover attaches that same volume (the
  same id) to the DR server.

The failover is a *driver*'s, chosen by the item's option ``driver``:
``cinder`` (the default, :class:`CinderReplication`), or a class of the
operator's as ``package.module:Class`` (a subclass of :class:`Driver`).
The default driver fails over the volume's replication group when it is
in one (``failover_replication``, which moves the group's volumes
together, consistently), else the backend that holds it
(``failover_host``); ``backend_id`` (option) names the secondary backend
(default: the backend's only one).

Where this runs: Cinder's replication is a backend's, inside one Cinder.
The DR site's block storage API must manage that backend: sites that are
cells of one region, or a Cinder whose volume service is deployed at both
sites.  The failover is an administrator's call.  It is not undone by a
revert of the takeover (a failback is its own operation), and the
primary's attachment of the volume must be gone (its server deleted) or
the type multiattach for the DR server to attach it.  The minicloud's file
driver has no replication: the method is tested on the fake cloud only.

Options: ``driver``, ``backend_id``.
"""

import abc

from geoflows import replication

DRIVERS = {'cinder': 'geoflows.replication.storage:CinderReplication'}
OPTIONS = ('driver', 'backend_id')


class Driver(object, metaclass=abc.ABCMeta):
    """How a replicated volume is checked and failed over.

    Each method gets the openstacksdk block storage proxy of the site it
    runs at, and the item's plan options.  Errors are
    :class:`geoflows.exceptions.ResourceError` whose text says what to do.
    """

    #: its name in a plan's ``driver`` option
    name = None

    @abc.abstractmethod
    def check(self, cinder, volume_id, options):
        """At the source: the replica's facts (a JSON dict), or an error."""

    @abc.abstractmethod
    def failover(self, cinder, record, options):
        """At the target: start the failover of ``record``'s volume.

        Idempotent: a volume already failed over is left as it is.
        Returns what it did, as text.
        """

    @abc.abstractmethod
    def status(self, cinder, record, options):
        """Where the failover is: a pair (state, detail).

        ``('ready', volume)`` when the volume serves at the target,
        ``('pending', text)`` while the failover runs, ``('error', text)``.
        """


def _error(message):
    from geoflows import exceptions
    return exceptions.ResourceError(message)


class CinderReplication(Driver):
    """Cinder's replication API: groups, else the backend's failover."""

    name = 'cinder'
    enabled = 'enabled'
    failed_over = 'failed-over'

    def _volume(self, cinder, volume_id, where):
        from geoflows import clouds
        try:
            return cinder.get_volume(volume_id)
        except clouds.NotFound:
            raise _error(
                'volume %s is unknown to the block storage API of %s; the '
                'storage method needs that Cinder to manage the replicated '
                'backend (one Cinder for both sites: cells of one region, '
                'or its volume service at both), else choose the backup or '
                'image method' % (volume_id, where))

    def check(self, cinder, volume_id, options):
        volume = self._volume(cinder, volume_id, 'the primary')
        status = volume.replication_status
        if status != self.enabled:
            raise _error(
                'volume %s (%s) is not replicated by its storage: its '
                'replication_status is %r, not %r.  Give it a replicated '
                'volume type (extra spec replication_enabled=\'<is> True\''
                ' on a backend with a replication_device: cinder retype '
                '%s <type> --migration-policy on-demand), or protect it '
                'with another method (backup, image)' % (
                    volume.name, volume.id, status, self.enabled, volume.id))
        specs = {}
        try:
            found = cinder.find_type(volume.volume_type,
                                     ignore_missing=True)
            specs = dict(getattr(found, 'extra_specs', None) or {})
        except Exception:  # extra specs are an administrator's to read
            specs = {}
        return {'replication_status': status,
                'volume_type': volume.volume_type,
                'replication_enabled': specs.get('replication_enabled'),
                'group_id': getattr(volume, 'group_id', None),
                'host': getattr(volume, 'host', None),
                'backend_id': options.get('backend_id')}

    def failover(self, cinder, record, options):
        volume = self._volume(cinder, record['volume'], 'the DR site')
        if volume.replication_status == self.failed_over:
            return 'volume %s was already failed over' % volume.id
        replica = record.get('replica') or {}
        backend_id = options.get('backend_id') or replica.get('backend_id')
        group_id = getattr(volume, 'group_id', None) or \
            replica.get('group_id')
        if group_id:
            group = cinder.get_group(group_id)
            if group.replication_status != self.failed_over:
                cinder.failover_group_replication(
                    group_id, allowed_attached_volume=True,
                    secondary_backend_id=backend_id)
            return 'replication group %s failed over' % group_id
        host = (getattr(volume, 'host', None) or replica.get('host') or
                '').split('#')[0]
        services = [s for s in cinder.services(binary='cinder-volume')
                    if s.host == host]
        if not services:
            raise _error(
                'no cinder-volume service %r at the DR site to fail over '
                'volume %s; fail its backend over by hand (cinder '
                'failover-host) and resume the job' % (host, volume.id))
        cinder.failover_service(services[0], backend_id=backend_id)
        return 'backend %s failed over' % host

    def status(self, cinder, record, options):
        volume = self._volume(cinder, record['volume'], 'the DR site')
        status = volume.replication_status
        if status == self.failed_over and volume.status in (
                'available', 'in-use'):
            return 'ready', volume
        if status in ('error', 'failover-error') or \
                (volume.status or '').startswith('error'):
            return 'error', (
                'the failover of volume %s ended in replication_status %r '
                '(volume %s); see the logs of the DR site\'s cinder-volume '
                % (volume.id, status, volume.status))
        return 'pending', 'volume %s is %s, replication %s' % (
            volume.id, volume.status, status)


def driver(options):
    """The driver the item's options name."""
    import importlib
    name = (options or {}).get('driver') or 'cinder'
    path = DRIVERS.get(name, name)
    module, _sep, attr = path.partition(':')
    return getattr(importlib.import_module(module), attr)()


class Storage(replication.Method):

    name = 'storage'

    def problems(self, item_spec):
        found = []
        for key, value in (item_spec.get('options') or {}).items():
            if key not in OPTIONS:
                found.append((('options', key), 'unknown option %r of the '
                              'storage method (it takes: %s)'
                              % (key, ', '.join(OPTIONS))))
            elif not isinstance(value, str) or not value:
                found.append((('options', key), '%s is a name' % key))
            elif key == 'driver' and value not in DRIVERS and \
                    ':' not in value:
                found.append((('options', key), 'driver is one of %s, or '
                              'package.module:Class' % ', '.join(DRIVERS)))
        return found

    def copy(self, item):
        from geoflows.tasks import replication as steps
        return [steps.StorageRecord(item, driver(item.options))]

    def restore(self, item, volume_name):
        from taskflow.patterns import linear_flow

        from geoflows.tasks import base
        from geoflows.tasks import replication as steps
        chosen = driver(item.options)
        attempts, interval = item.wait
        return [steps.Failover(item, chosen),
                linear_flow.Flow(item.key + '.volume.wait',
                                 retry=base.PacedRetry(
                                     item.key + '.volume.retry', attempts,
                                     interval)).add(
                    steps.WaitFailover(item, chosen))]

    def copy_id(self, record):
        return record['volume']

    def prune(self, clouds, record):
        return []  # the array keeps one replica; nothing to delete
