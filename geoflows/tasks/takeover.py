"""Steps of a takeover that are not one service's resources.

Fencing the primary (what can still be stopped there is, within a bound:
a primary that does not answer is recorded "not fenced"), stopping the
primary's servers before a planned takeover's final copies, the points at
which a VNF is ready (what the measured RTO is read from), verification
against the checkpoint, the group's new state and the report.
"""

import concurrent.futures
import logging
import time

from geoflows import checkpoints
from geoflows.checkpoints import groups
from geoflows import clouds as clouds_mod
from geoflows import exceptions
from geoflows.tasks import base
from geoflows.tasks import bgpvpn

LOG = logging.getLogger(__name__)


class Ready(base.GeoflowsTask):
    """The instant a unit's work is done (its VNF or chain is ready)."""

    def __init__(self, name, site, after):
        super().__init__(name, site, requires=list(after), provides=name)

    def execute(self, **inputs):
        return {'ready_at': checkpoints.isoformat(checkpoints.utcnow())}


class ExistingBgpvpn(base.Resource):
    """The BGPVPN of an interconnect, found by name (never made here)."""

    kind = 'BGPVPN'
    missing_hint = ('set up the group\'s interconnect first ("geoflows '
                    'interconnect setup")')

    def find(self, net, parents):
        return base.only(net.bgpvpns(name=self.name),
                         'BGPVPNs named %r' % self.name)

    def create(self, net, parents):
        raise exceptions.ResourceError('%s is made by the interconnect'
                                       % self.label)

    def delete(self, net, resource_id, parents):
        raise exceptions.ResourceError('%s is removed by the interconnect'
                                       % self.label)

    def owned(self, obj, parents):
        return False


class Association(bgpvpn.NetworkAssociation):
    """A DR network's association with the interconnect's BGPVPN.

    Whoever made the BGPVPN, the association is the takeover's when this
    job made it (the probe saw none): a revert removes it.
    """

    def owned(self, obj, parents):
        return True


def _bounded(seconds, fn):
    """fn() within ``seconds``; raise TimeoutError if it takes longer.

    (A primary that does not answer may hang each call until the API
    timeout; the takeover does not wait for it.)
    """
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


class Fence(base.GeoflowsTask):
    """Stop the group's VNFs at the primary, if it answers in time.

    Its servers are stopped, their ports taken administratively down, the
    group's networks removed from the interconnect's BGPVPN there.  A
    primary that does not answer within ``spec['timeout']`` leaves the
    group "not fenced": recorded in the job and in the group's state,
    where it makes any later start of the VNFs at the primary refuse.  The
    step itself never fails: a disaster takeover goes on.  Its revert
    (an operator undoing the whole takeover) restarts what it stopped.
    """

    def __init__(self, name, spec):
        super().__init__(name, spec['source'], provides=name)
        self.spec = spec

    def execute(self):
        spec = self.spec
        done = {'servers': [], 'ports': [], 'associations': []}
        started = time.monotonic()
        try:
            _bounded(spec['timeout'], lambda: self._fence(done))
            state, detail = groups.FENCED, 'stopped %d servers, took %d ' \
                'ports down, removed %d networks from the interconnect' % (
                    len(done['servers']), len(done['ports']),
                    len(done['associations']))
        except (exceptions.GeoflowsError, concurrent.futures.TimeoutError,
                clouds_mod.NotFound) as e:
            reason = ('no answer within %ds' % spec['timeout']
                      if isinstance(e, concurrent.futures.TimeoutError)
                      else str(e))
            state = groups.NOT_FENCED
            detail = ('the primary %r could not be fenced (%s): its VNFs '
                      'may still run there; fence them, or confirm they are '
                      'down, before they start there again ("geoflows '
                      'protection fence")' % (spec['source']['name'],
                                              reason))
            LOG.warning('takeover of group %s: %s', spec['group'], detail)
        groups.record_fence(self.ctx.store, spec['plan'], spec['group'],
                            state, detail, spec['source']['name'],
                            spec['target']['name'])
        return dict(done, state=state, detail=detail,
                    seconds=round(time.monotonic() - started, 3))

    def _fence(self, done):
        site = self.spec['source']
        compute = self.client('compute', site)
        net = self.client('network', site)
        for server in self.spec['servers']:
            with self.api('stop server %s' % server['name']):
                try:
                    obj = compute.get_server(server['source_id'])
                except clouds_mod.NotFound:
                    continue
                if obj.status == 'ACTIVE':
                    compute.stop_server(obj.id)
                    done['servers'].append(server['source_id'])
            for port_id in server['ports']:
                with self.api('take port %s down' % port_id):
                    try:
                        port = net.get_port(port_id)
                    except clouds_mod.NotFound:
                        continue
                    if port.is_admin_state_up is not False:
                        net.update_port(port_id, is_admin_state_up=False)
                        done['ports'].append(port_id)
        if self.spec.get('bgpvpn'):
            with self.api('remove the group\'s networks from BGPVPN %s'
                          % self.spec['bgpvpn']):
                for vpn in net.bgpvpns(name=self.spec['bgpvpn']):
                    for assoc in net.bgpvpn_network_associations(vpn.id):
                        if assoc.network_id in self.spec['networks']:
                            net.delete_bgpvpn_network_association(
                                vpn.id, assoc.id)
                            done['associations'].append(
                                [vpn.id, assoc.network_id])

    def revert(self, result, *args, **kwargs):
        if not isinstance(result, dict):
            return
        site = self.spec['source']
        if self.spec.get('standalone'):
            # A fence job ("geoflows protection fence") undone: the group
            # still runs at the DR site, its primary stays stopped.
            LOG.warning('fencing of group %s at %r undone in the state '
                        'store only: what it stopped stays stopped (the '
                        'group runs at its DR site)', self.spec['group'],
                        site['name'])
            return
        try:
            compute = self.client('compute', site)
            net = self.client('network', site)
            for vpn_id, network_id in result.get('associations', ()):
                with self.api('give network %s back to BGPVPN %s'
                              % (network_id, vpn_id)):
                    net.create_bgpvpn_network_association(
                        vpn_id, network_id=network_id)
            for port_id in result.get('ports', ()):
                with self.api('take port %s up' % port_id):
                    net.update_port(port_id, is_admin_state_up=True)
            for server_id in result.get('servers', ()):
                with self.api('start server %s' % server_id):
                    compute.start_server(server_id)
        except Exception as e:  # a revert goes on; say what is left
            LOG.error('undoing the fencing of group %s at %r failed: %s; '
                      'start its servers and take their ports up by hand',
                      self.spec['group'], site['name'], e)
        # The takeover undone, the primary serves the group again: it is
        # neither fenced nor to be fenced.
        groups.record_fence(self.ctx.store, self.spec['plan'],
                            self.spec['group'], None, None, site['name'],
                            self.spec['target']['name'])


class StopSource(base.GeoflowsTask):
    """Planned takeover: stop a server at the primary (kept, not deleted).

    Its revert starts it again.
    """

    def __init__(self, name, spec, server):
        super().__init__(name, spec['source'], provides=name)
        self.spec = spec
        self.server = server

    def execute(self):
        from openstack import exceptions as os_exc
        compute = self.client('compute')
        with self.api('stop server %s' % self.server['name']):
            obj = compute.get_server(self.server['source_id'])
            if obj.status == 'ACTIVE':
                try:
                    compute.stop_server(obj.id)
                except os_exc.ConflictException:
                    # Already powering off: an earlier attempt of this
                    # step stopped it and was killed before it recorded so.
                    pass
                return {'stopped': True, 'id': obj.id}
        # Running when the job was made and stopped now: an earlier attempt
        # of this step stopped it (killed before recording it), and the
        # revert must start it again.
        stopped = self.server.get('status') == 'ACTIVE' and \
            obj.status == 'SHUTOFF'
        return {'stopped': stopped, 'id': obj.id, 'status': obj.status}

    def revert(self, result, *args, **kwargs):
        if not isinstance(result, dict) or not result.get('stopped'):
            return
        try:
            compute = self.client('compute')
            with self.api('start server %s' % self.server['name']):
                obj = compute.get_server(result['id'])
                if obj.status == 'SHUTOFF':
                    compute.start_server(obj.id)
                # Undone means serving again: Nova starts it in the
                # background.
                status = _wait_status(compute, obj.id, 'ACTIVE',
                                      self.START_WAIT)
            if status != 'ACTIVE':
                LOG.error('reverting: server %s at %r is still %s after '
                          '%ds; start it by hand', self.server['name'],
                          self.site['name'], status, self.START_WAIT)
        except Exception as e:
            LOG.error('reverting: server %s at %r could not be started '
                      'again: %s; start it by hand', self.server['name'],
                      self.site['name'], e)

    #: seconds a revert waits for the server to be ACTIVE again
    START_WAIT = 120


def _wait_status(compute, server_id, wanted, seconds, interval=1.0):
    """The server's status once ``wanted`` (or ERROR), or at the end."""
    deadline = time.monotonic() + seconds
    while True:
        status = compute.get_server(server_id).status
        if status in (wanted, 'ERROR') or time.monotonic() >= deadline:
            return status
        time.sleep(interval)


class WaitStopped(base.GeoflowsTask):
    """Check once that a primary server is SHUTOFF (under a PacedRetry)."""

    def __init__(self, name, spec, server):
        super().__init__(name, spec['source'], provides=name)
        self.server = server

    def execute(self):
        compute = self.client('compute')
        with self.api('look up server %s' % self.server['name']):
            status = compute.get_server(self.server['source_id']).status
        if status == 'SHUTOFF':
            return status
        if status == 'ERROR':
            raise exceptions.ResourceError(
                'server %s at site %r is in ERROR instead of stopping; see '
                'its compute logs' % (self.server['name'],
                                      self.site['name']))
        raise exceptions.NotReady('server %s is %s, not SHUTOFF yet'
                                  % (self.server['name'], status))


class Verify(base.GeoflowsTask):
    """What runs at the DR site, compared with the checkpoint.

    The verdict goes to the report; differences never fail the takeover
    (the VNFs are up, an operator decides what to do about them).
    """

    def __init__(self, name, spec):
        super().__init__(name, spec['target'], requires=['job_id'],
                         provides=name)
        self.spec = spec

    def differences(self, job_id, vnfs=None):
        """(checkpoint id, differences of the target from it)."""
        from geoflows import verify
        cid = self.spec.get('checkpoint') or checkpoints.checkpoint_id(
            job_id)
        checkpoint = checkpoints.get(self.ctx.store, cid)
        # Within the operator's cap on compute calls, if there is one.
        cap = (getattr(self.ctx, 'call_caps', None) or {}).get('compute')
        return cid, verify.compare(
            self.ctx.clouds, checkpoint, vnfs, site=self.spec['target'],
            readers=min(cap or verify.ATTACHMENT_READERS,
                        verify.ATTACHMENT_READERS))

    def execute(self, job_id):
        try:
            _cid, found = self.differences(job_id, self.spec['vnfs'])
        except exceptions.GeoflowsError as e:
            return {'clean': False, 'differences': [],
                    'error': str(e)}
        return {'clean': not found, 'differences': found}


class MarkTakenOver(base.GeoflowsTask):
    """The group runs at the DR site; its revert gives it back."""

    def __init__(self, name, spec):
        super().__init__(name, spec['target'], requires=['job_id'],
                         provides=name)
        self.spec = spec

    def execute(self, job_id):
        spec = self.spec
        before = groups.get(self.ctx.store, spec['plan'], spec['group'])
        values = {'state': groups.TAKEN_OVER,
                  'serving_site': spec['target']['name'],
                  'takeover_job': job_id, 'next_sync_at': None}
        if not groups.update(self.ctx.store, spec['plan'], spec['group'],
                             **values):
            groups.record_fence(self.ctx.store, spec['plan'], spec['group'],
                                None, None, spec['source']['name'],
                                spec['target']['name'])
            groups.update(self.ctx.store, spec['plan'], spec['group'],
                          **values)
        return {'before': None if before is None else {
            'state': before.state, 'serving_site': before.serving_site,
            'takeover_job': before.takeover_job,
            'next_sync_at': checkpoints.isoformat(before.next_sync_at)}}

    def revert(self, result, *args, **kwargs):
        if not isinstance(result, dict):
            return
        before = result.get('before')
        if before is None:
            groups.forget(self.ctx.store, self.spec['plan'],
                          self.spec['group'])
            return
        if before.get('next_sync_at'):
            before['next_sync_at'] = checkpoints.parse_time(
                before['next_sync_at'])
        groups.update(self.ctx.store, self.spec['plan'], self.spec['group'],
                      **before)


class TakeoverReport(base.GeoflowsTask):
    """Per VNF: the achieved RPO and the measured RTO, against targets.

    A VNF is ready when its unit's last step ended and so did the rebuild
    of every chain it sits in; its RTO is that instant less the job's
    start.  Its RPO is the age of its copy at the job's start.
    """

    def __init__(self, name, spec):
        super().__init__(name, spec['target'],
                         requires=['job_id', 'verdict'],
                         rebind={'verdict': 'verify'}, provides=name)
        self.spec = spec

    def execute(self, job_id, verdict=None):
        spec = self.spec
        store = self.ctx.store
        job = store.get_job(job_id)
        started = job.started_at
        cid = spec.get('checkpoint') or checkpoints.checkpoint_id(job_id)
        checkpoint = checkpoints.get(store, cid)
        ready = {}
        for step in store.job_steps(job_id, names=['ready'], data=False):
            if step['state'] == 'SUCCESS' and step['finished_at']:
                ready[step['unit']] = step['finished_at']
        vnfs = {}
        for name, info in spec['vnfs'].items():
            unit = '%s/%s' % (spec['group'], name)
            ends = [ready.get(unit)] + [
                ready.get('%s.chain.%s' % (spec['group'], chain))
                for chain in info['chains']]
            rto = None
            if all(ends):
                rto = round((max(ends) - started).total_seconds(), 3)
            part = checkpoint.vnfs.get(name)
            rpo = None
            if part:
                # A planned takeover's copies are made after its start (the
                # primary stopped first): nothing was lost.
                rpo = max(0.0, round((started - checkpoints.parse_time(
                    part['consistent_at'])).total_seconds(), 3))
            vnfs[name] = {'priority': info['priority'],
                          'standby': info['standby'], 'ready': bool(rto),
                          'rto': rto, 'rto_target': spec['rto'],
                          'rto_met': rto is not None and rto <= spec['rto'],
                          'rpo': rpo, 'rpo_target': spec['rpo'],
                          'consistent_at': part and part['consistent_at']}
        return {'group': spec['group'], 'checkpoint': cid,
                'mode': spec['mode'], 'vnfs': vnfs,
                'verify': verdict or {}}
