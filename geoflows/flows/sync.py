"""Flows of the sync operation: take a checkpoint, copy the data.

Units of a sync job (see geoflows.operations):

* ``GROUP`` (:func:`group`): the group's metadata, read at the source when
  the job was made, applied to the DR site (what is new since the last
  sync is created: a network, a security group rule, a flavor, an image),
  then the job's checkpoint is opened with it.
* ``GROUP/VNF`` (:func:`vnf`), one per VNF, after the group's unit:
  ``pre_sync`` hooks; the *quiesce window*: each server quiesced in the
  plan's order, each volume snapshotted (as its replication method says),
  each server unquiesced in reverse; then each volume copied to the DR site
  (a backup imported there, an image copied...), ``post_sync`` hooks, the
  standby brought in line (a server added to a hot or warm VNF gets its
  standby), and the VNF's part of the checkpoint recorded: its metadata,
  the instant its data was consistent (the window's end) and its copies.
* ``GROUP.checkpoint`` (:func:`checkpoint`), after every VNF: the
  checkpoint is complete (the group's newest), then the checkpoints past
  the retention are pruned with their copies.

A failure reverts the job: the new copies are deleted, the servers are
unquiesced, the checkpoint never completes; the previous checkpoint stays
the newest.
"""

from taskflow.patterns import graph_flow
from taskflow.patterns import linear_flow

from geoflows.flows import protect
from geoflows.flows import site_copy
from geoflows import hooks as hooks_mod
from geoflows import replication
from geoflows.tasks import base
from geoflows.tasks import hooks
from geoflows.tasks import protection


def group(spec, options):
    """Apply the group's metadata to the DR site; open the checkpoint."""
    layout = site_copy.GroupLayout(spec, options)
    flow = graph_flow.Flow('sync-group')
    for resource in layout.resources:
        flow.add(base.Probe(resource), base.Ensure(resource))
    flow.add(protection.Report('report', spec['target'], layout.resources))
    return linear_flow.Flow('sync-group-then-open').add(
        flow, protection.OpenCheckpoint('checkpoint.open', spec))


def items(spec, options):
    """The data items of the VNF, for their replication methods."""
    found = []
    for server in spec['vnf']['servers']:
        for volume in server['volumes']:
            data = spec['data'].get(volume['name']) or spec['data'].get(
                volume['source_id']) or {'method': spec['replication'],
                                         'options': {}}
            key = 'data.%s.%s' % (server['name'], volume['source_id'])
            found.append((replication.get(data['method']), replication.Item(
                key=key, source=spec['source'], target=spec['target'],
                volume=volume, marker=site_copy.marker(spec['plan'],
                                                       spec['group']),
                name='gf-%s-%s-%s' % (spec['group'], spec['checkpoint_tag'],
                                      volume['source_id'][:13]),
                chain_prefix='gf-%s-' % spec['group'],
                options=dict(data.get('options') or {}),
                retention=spec['retention'],
                wait=(options['ready_attempts'],
                      options['ready_interval']),
                work_dir=options.get('image_work_dir'))))
    return found


def vnf(spec, options):
    """One VNF: hooks, quiesce window, copies, standby, its part."""
    flow = linear_flow.Flow('sync-vnf')
    vnf_hooks = spec['hooks']
    servers = spec['vnf']['servers']
    data = items(spec, options)
    holder = '%s@%s' % (spec['unit'], spec['checkpoint_tag'])
    if data:
        flow.add(linear_flow.Flow('copies.slots', retry=base.PacedRetry(
            'copies.slots.retry', options['ready_attempts'],
            options['ready_interval'])).add(protection.AcquireCopySlots(
                'copies.slots.taken', spec['source'], holder, len(data),
                options.get('max_copies_per_site', 4))))
    if hooks_mod.has_hooks(vnf_hooks, hooks_mod.PRE_SYNC):
        flow.add(hooks.HookTask('hooks.pre_sync', spec, hooks_mod.PRE_SYNC))
    quiesce = linear_flow.Flow('quiesce')
    for server in hooks_mod.quiesce_order(servers):
        if hooks_mod.has_hooks(vnf_hooks, hooks_mod.QUIESCE):
            quiesce.add(hooks.Quiesce(
                'quiesce.%s' % server['name'], spec, server,
                'unquiesce.%s' % server['name']))
    snapshots = graph_flow.Flow('snapshots')
    for method, item in data:
        snapshots.add(*method.snapshot(item))
    flow.add(quiesce, snapshots, WindowClosed('window.closed'))
    unquiesce = linear_flow.Flow('unquiesce')
    for server in hooks_mod.unquiesce_order(servers):
        if hooks_mod.has_hooks(vnf_hooks, hooks_mod.UNQUIESCE):
            unquiesce.add(hooks.Unquiesce('unquiesce.%s' % server['name'],
                                          spec, server))
    flow.add(unquiesce)
    copies = graph_flow.Flow('copies')
    for method, item in data:
        copies.add(*method.copy(item))
    flow.add(copies)
    if data:
        flow.add(protection.ReleaseCopySlots('copies.slots.given',
                                             spec['source'], holder))
    if hooks_mod.has_hooks(vnf_hooks, hooks_mod.POST_SYNC):
        flow.add(hooks.HookTask('hooks.post_sync', spec,
                                hooks_mod.POST_SYNC))
    if spec['vnf']['standby'] in ('hot', 'warm'):
        flow.add(protect.standby(spec, options))
    flow.add(protection.SaveVnf('checkpoint.vnf', spec,
                                [item.record_key for _m, item in data],
                                'window.closed'))
    return flow


def checkpoint(spec, options):
    """Complete the checkpoint, then prune past the retention."""
    return linear_flow.Flow('sync-checkpoint').add(
        protection.CompleteCheckpoint('checkpoint', spec),
        protection.Prune('checkpoint.prune', spec))


class WindowClosed(base.GeoflowsTask):
    """The instant the VNF's data is consistent: its snapshots are taken."""

    def __init__(self, name):
        super().__init__(name, None, provides=name)

    def execute(self):
        from geoflows import checkpoints
        return {'closed_at': checkpoints.isoformat(checkpoints.utcnow())}
