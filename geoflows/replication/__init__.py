"""Replication methods: how the data of a protected volume reaches the DR
site.  Pluggable: each is a ``geoflows.replication`` entry point.

geoflows ships four:

``backup``       Cinder backup at the source (incremental after the first),
                 its record imported at the target, where it is restored at
                 takeover.  Both sites' backup services share one repository.
``image``        the volume uploaded to an image, copied between the sites'
                 Glance with its checksum verified, a volume created from it
                 at takeover.
``storage``      the storage array replicates (a Cinder volume type with
                 replication); geoflows records and checks the replica, and
                 fails it over at takeover.
``application``  the VNF replicates its own state; geoflows runs its hooks
                 and records their verdict.

A method builds the steps of one data item (one volume of one VNF) for the
flows of the operations; the flows put them where they belong:

* :meth:`Method.snapshot`: inside the VNF's quiesce window (keep them
  short: a snapshot, not a copy);
* :meth:`Method.copy`: after the window; the last step provides the item's
  *copy record* (a JSON dict recorded in the checkpoint: what the target
  site holds and how to restore it);
* :meth:`Method.restore`: at the target site, from a copy record (takeover,
  drill, failback);
* :meth:`Method.prune`: delete a copy that left the retention.

An operator's method subclasses :class:`Method` and registers it::

    [entry_points]
    geoflows.replication =
        drbd = mypackage.drbd:Drbd
"""

import abc
import dataclasses
import functools
import logging

LOG = logging.getLogger(__name__)

NAMESPACE = 'geoflows.replication'


@dataclasses.dataclass(frozen=True)
class Item:
    """One data item of a VNF, as the flows give it to its method.

    ``key``: the prefix of its steps' names (unique in the unit);
    ``volume``: the source volume as captured (``source_id``, ``name``,
    ``size``, ``volume_type``, ...); ``marker``: geoflows' mark for what
    the steps create; ``name``: the name of what they create (unique per
    checkpoint); ``chain_prefix``: the names of this volume's copies share
    it; ``options``: the plan's options of the item; ``retention``: the
    group's; ``wait``: the pace of status checks.
    """
    key: str
    source: dict
    target: dict
    volume: dict
    marker: str
    name: str
    chain_prefix: str
    options: dict
    retention: int = 3
    #: how often and how long its steps check a status: (attempts, seconds)
    wait: tuple = (720, 5.0)
    #: where data in transit between the sites may be kept (``[protection]
    #: work_dir``; None: the system's temporary directory)
    work_dir: str = None

    @property
    def record_key(self):
        """Where the copy record is provided."""
        return self.key + '.record'

    @property
    def copy_key(self):
        """Where a restore finds the copy it starts from."""
        return self.key + '.copy'


class Method(object, metaclass=abc.ABCMeta):
    """A replication method (see the module documentation)."""

    #: its name in plans (the entry point's name)
    name = None
    #: whether it needs the VNF quiesced while it snapshots
    consistent_with_quiesce = True

    def problems(self, item_spec):
        """Problems of the plan's item, as (subpath, message).

        ``item_spec`` is ``{volume, method, options}``; by default a method
        takes no option.
        """
        if item_spec.get('options'):
            return [(('options',), 'the %s method takes no options'
                     % self.name)]
        return []

    def snapshot(self, item):
        """Steps inside the quiesce window (none by default)."""
        return []

    @abc.abstractmethod
    def copy(self, item):
        """Steps after the window; the last provides ``item.record_key``."""

    @abc.abstractmethod
    def restore(self, item, volume_name):
        """Steps that make a volume named ``volume_name`` at the target.

        They require ``item.copy_key``: the item's copy record (as
        :meth:`copy` recorded it), plus ``id``, the copy's id
        (:meth:`copy_id`); the flow looks it up in the checkpoint.  The
        last provides ``item.key + '.volume'`` (its description, with an
        ``id``).
        """

    def copy_id(self, record):
        """The id of the copy a record describes (None: no copy)."""
        return None

    @abc.abstractmethod
    def prune(self, clouds, record):
        """Delete the copy of ``record`` at both sites.

        Absent copies are fine; returns what was deleted, as text, for the
        log.
        """

    def references(self, record):
        """Ids of the copies ``record`` needs to stay restorable.

        Itself and, for an incremental backup, its chain.
        """
        return set()


def _entry_points():
    import importlib.metadata
    return {ep.name: ep for ep in
            importlib.metadata.entry_points(group=NAMESPACE)}


def names():
    """The installed methods' names (read without importing them)."""
    return sorted(_entry_points())


@functools.lru_cache(maxsize=None)
def get(name):
    """The method registered as ``name``."""
    from geoflows import exceptions
    found = _entry_points().get(name)
    if found is None:
        raise exceptions.GeoflowsError(
            'unknown replication method %r (installed: %s)'
            % (name, ', '.join(names())))
    return found.load()()
