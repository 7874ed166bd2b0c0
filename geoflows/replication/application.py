"""The ``application`` method: the VNF replicates its own state.

geoflows copies nothing: the VNF's own replication (a database's log
shipping, a cluster's standby members) keeps the DR site's copy.  What
geoflows does is run the VNF's hooks around each sync (``pre_sync`` and
``post_sync``, whose verdict is recorded) and record in the checkpoint the
volume it stands for.  At takeover, the ``promote`` hook turns the standby
into the active one; the volume at the DR site is the standby's own
(``hot`` VNFs have one attached since protect), so a restore makes an
empty volume of the same size only when no standby holds one.
"""

from geoflows import replication


class Application(replication.Method):

    name = 'application'
    consistent_with_quiesce = False

    def copy(self, item):
        from geoflows.tasks import replication as steps
        return [steps.ApplicationRecord(item)]

    def restore(self, item, volume_name):
        from geoflows.tasks import base
        from geoflows.tasks import volume as volume_tasks
        empty = volume_tasks.Volume(
            item.key + '.volume', item.target, volume_name,
            marker=item.marker, size=item.volume['size'],
            volume_type=item.volume.get('volume_type'),
            source_id=item.volume['source_id'])
        from geoflows.replication import backup
        # Attached once available, as any restored volume.
        return [base.Probe(empty), base.Ensure(empty),
                backup._waiting(empty, item, 'available')]

    def prune(self, clouds, record):
        return []
