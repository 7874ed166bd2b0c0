"""Prometheus metrics of protection, served by the conductors.

Read from the state store when Prometheus scrapes (so every conductor
serves the same figures, and a dead one loses nothing), for every group
that a protect job made protected, with the plan recorded then:

``geoflows_rpo_seconds{plan,group,vnf}``
    age of the VNF's newest consistent copy (the achieved RPO); absent
    while the VNF has no copy.
``geoflows_rpo_target_seconds{plan,group,vnf}``
    the group's RPO target.
``geoflows_rpo_state{plan,group,vnf,state}``
    1 for the VNF's state (OK, AT RISK, VIOLATED), 0 for the others.
``geoflows_last_checkpoint_timestamp_seconds{plan,group}``
    when the group's newest checkpoint was consistent (Unix time).
``geoflows_sync_failing{plan,group}``
    1 while the group's last sync failed.

    server = metrics.serve(store, port=9464)
"""

import calendar
import logging

from geoflows import protection_status

LOG = logging.getLogger(__name__)


class ProtectionCollector(object):
    """A prometheus_client collector over the state store."""

    def __init__(self, store):
        self.store = store

    def collect(self):
        from prometheus_client import core
        rpo = core.GaugeMetricFamily(
            'geoflows_rpo_seconds', 'Age of the newest consistent copy of a '
            'protected VNF (the achieved RPO).',
            labels=['plan', 'group', 'vnf'])
        target = core.GaugeMetricFamily(
            'geoflows_rpo_target_seconds', 'RPO target of the VNF\'s '
            'protection group.', labels=['plan', 'group', 'vnf'])
        state = core.GaugeMetricFamily(
            'geoflows_rpo_state', 'Protection state of the VNF: 1 for its '
            'state, 0 for the others.',
            labels=['plan', 'group', 'vnf', 'state'])
        last = core.GaugeMetricFamily(
            'geoflows_last_checkpoint_timestamp_seconds', 'When the '
            'group\'s newest checkpoint was consistent (Unix time).',
            labels=['plan', 'group'])
        failing = core.GaugeMetricFamily(
            'geoflows_sync_failing', '1 while the group\'s last sync '
            'failed.', labels=['plan', 'group'])
        for plan, rows in self._plans():
            newest, errors = {}, {}
            for row in rows:
                labels = [row.plan, row.group, row.vnf]
                if row.rpo is not None:
                    rpo.add_metric(labels, row.rpo)
                target.add_metric(labels, row.rpo_target)
                for name in (protection_status.OK, protection_status.AT_RISK,
                             protection_status.VIOLATED):
                    state.add_metric(labels + [name],
                                     1 if row.state == name else 0)
                if row.consistent_at and (
                        row.group not in newest or
                        row.consistent_at < newest[row.group]):
                    newest[row.group] = row.consistent_at
                errors[row.group] = bool(row.last_sync_error)
            for group, when in newest.items():
                last.add_metric([plan.name, group], _unix(when))
            for group, error in errors.items():
                failing.add_metric([plan.name, group], 1 if error else 0)
        return [rpo, target, state, last, failing]

    def _plans(self):
        from geoflows.checkpoints import groups
        from geoflows import plan as plan_mod
        seen = {}
        for state in groups.listing(self.store):
            if state.state != groups.PROTECTED or not state.plan:
                continue
            seen.setdefault(state.plan_name, (state.plan, set()))[1].add(
                state.group_name)
        for name, (document, names) in sorted(seen.items()):
            try:
                plan = plan_mod.from_document(document, 'protected plan %s'
                                              % name)
            except Exception as e:
                LOG.warning('metrics: the recorded plan %s is not valid any '
                            'more: %s', name, e)
                continue
            yield plan, protection_status.of_plan(self.store, plan, names)


def _unix(iso):
    from geoflows import checkpoints
    return calendar.timegm(checkpoints.parse_time(iso).timetuple()) + \
        checkpoints.parse_time(iso).microsecond / 1e6


def registry(store):
    """A registry with only the protection collector (tests, servers)."""
    from prometheus_client import core
    reg = core.CollectorRegistry(auto_describe=False)
    reg.register(ProtectionCollector(store))
    return reg


def serve(store, port, host='127.0.0.1'):
    """Serve the metrics over HTTP; return the server (``shutdown()``)."""
    from prometheus_client import exposition
    server, thread = exposition.start_http_server(
        port, addr=host, registry=registry(store))
    LOG.info('metrics on http://%s:%d/metrics', host, port)
    return server
