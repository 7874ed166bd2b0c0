"""The takeover benchmark: N cold VNFs taken over by the real flows.

``geoflows bench --takeover`` measures what a disaster takeover of N cold
VNFs costs, with the units and flows a real takeover job runs
(:mod:`geoflows.takeover_units`, :mod:`geoflows.flows.takeover`).  Each
case, in a process of its own:

1. deploys N servers (one port each) at the primary site of the in-memory
   fake cloud, in a plan of one protection group whose VNFs are spread
   over P priorities, then runs the real ``protect`` and ``sync`` jobs
   without latency (not timed);
2. loses the primary (it refuses connections, as a site that is gone)
   and gives the DR site a latency L per call and a cap of C calls at
   once;
3. times the disaster takeover: through the geoflows runner, or through
   the naive baseline (the same units' flows in one Taskflow graph, the
   priorities in sequence, stock SQLAlchemy persistence).

k, the calls a VNF makes, is counted from the calls the DR site served
during the takeover (divided by N), not assumed.  Priority p + 1 starts
once priority p ended, so no runner can end before the sum over the
priorities of ``max(k·L, n_p·k·L / C)`` (:func:`lower_bound`).
"""

import collections
import os
import time

from geoflows import bench
from geoflows.testing import sample

PLAN_NAME = 'bench'
GROUP = 'bench'
CLOUD = 'bench'
PRIMARY, DR = 'east', 'west'
NETWORK = 'bench-net'
CIDR = '10.60.0.0/16'
#: the options of the jobs (what the geoflows command reads from its
#: configuration); servers are ACTIVE at the first read on the fake cloud
OPTIONS = {
    'route_target_pool': {'asn': 64512, 'first': 1000, 'last': 1099},
    'active_attempts': 5,
    'active_interval': 0.0,
    'ready_attempts': 5,
    'ready_interval': 0.0,
    'image_work_dir': None,
    'max_copies_per_site': 4,
    'fence_timeout': 5,
    'hook_options': {},
}
DISASTER = {'mode': 'disaster', 'confirm_primary_lost': True}
#: units in flight per call slot: a VNF unit has a call running only part
#: of the time (its steps' states are written in between, and after the
#: first look-ups its steps form a chain), so with two units per slot
#: (the synthetic chains' figure) 52 of 64 call slots were busy on average
#: at 1,000 VNFs, with four 56 and the takeover 1.3 s shorter; six brought
#: nothing more
UNITS_PER_CALL = 4


def vnf_name(i):
    return 'vnf-%05d' % i


def priority_of(i, n, priorities):
    """Priorities 1..P in consecutive, nearly equal slices of the VNFs."""
    return 1 + i * priorities // n


def group_sizes(n, priorities):
    """[VNFs of priority 1, of priority 2, ...]."""
    sizes = collections.Counter(priority_of(i, n, priorities)
                                for i in range(n))
    return [sizes[p] for p in sorted(sizes)]


def lower_bound(sizes, k, latency, cap):
    """No runner ends sooner: priorities run one after the other."""
    return sum(bench.lower_bound(n, k, latency, cap) for n in sizes)


def plan_document(n, priorities):
    """A plan of one group of N cold VNFs, one server each."""
    vnfs = [{'name': vnf_name(i), 'priority': priority_of(i, n, priorities),
             'standby': 'cold', 'servers': [vnf_name(i)],
             'replication': 'backup'} for i in range(n)]
    return {
        'version': 1, 'name': PLAN_NAME,
        'sites': {PRIMARY: {'cloud': CLOUD, 'region': PRIMARY},
                  DR: {'cloud': CLOUD, 'region': DR}},
        'protection_groups': [{
            'name': GROUP, 'primary': PRIMARY, 'dr': DR,
            'rpo': '1h', 'rto': '1h', 'sync_interval': '30m',
            'retention': 2, 'vnfs': vnfs}],
    }


def _ip(i):
    """The fixed IP of server i in CIDR (from 10.60.1.0 on)."""
    host = 256 + i
    return '10.60.%d.%d' % (host // 256, host % 256)


def deploy_primary(site, n):
    """N servers with a port each, and what they use, at ``site``."""
    net, compute, glance = site.network, site.compute, site.image
    network = net.create_network(name=NETWORK)
    subnet = net.create_subnet(network_id=network.id, name=NETWORK,
                               cidr=CIDR, ip_version=4,
                               gateway_ip='10.60.0.1')
    group = net.create_security_group(name='bench-sg', description='bench')
    compute.create_keypair(name='bench-key', public_key=sample.PUBLIC_KEY)
    flavor = compute.create_flavor(name='bench-small', vcpus=1, ram=256,
                                   disk=1)
    image = glance.create_image('bench-image', data=b'bench' * 1024,
                                disk_format='raw', container_format='bare',
                                allow_duplicates=True)
    for i in range(n):
        port = net.create_port(
            network_id=network.id, name='%s-port' % vnf_name(i),
            fixed_ips=[{'subnet_id': subnet.id, 'ip_address': _ip(i)}],
            security_group_ids=[group.id])
        compute.create_server(name=vnf_name(i), flavor_id=flavor.id,
                              image_id=image.id, key_name='bench-key',
                              networks=[{'port': port.id}])


class World(object):
    """The fake cloud, state store and runner of one case."""

    def __init__(self, n, priorities, url, workdir, cap):
        from geoflows import plan as plan_mod
        from geoflows import runner
        from geoflows import secrets
        from geoflows import store as store_mod
        from geoflows.testing import fakecloud

        self.clouds = fakecloud.FakeClouds(max_concurrent_calls=cap)
        self.store = store_mod.StateStore(url)
        self.store.upgrade()
        self.resolver = secrets.SecretResolver(os.path.join(workdir, 'key'))
        self.runner = runner.Runner(
            self.store, self.clouds, self.resolver, OPTIONS,
            max_parallel_units=cap * UNITS_PER_CALL,
            max_parallel_calls=cap)
        self.plan = plan_mod.from_document(plan_document(n, priorities))
        self.primary = self.clouds.site(CLOUD, PRIMARY)
        self.dr = self.clouds.site(CLOUD, DR)

    def prepare(self):
        """The primary deployed, protected and synced: not timed."""
        from geoflows import jobs

        deploy_primary(self.primary, len(self.plan.protection_groups[0]
                                         .vnfs))
        for operation in ('protect', 'sync'):
            job = self.runner.start(operation, self.plan)
            if job.state != jobs.SUCCESS:
                raise bench.BenchError('the %s job before the takeover '
                                       'ended %s: %s' % (operation,
                                                         job.state,
                                                         job.error))

    def lose_primary(self, latency):
        """The primary is gone; the DR site answers after ``latency``."""
        from keystoneauth1 import exceptions as ksa_exc

        # The fence's first call fails; it gives up and goes on.
        self.primary.fail('get_server', times=100,
                          error=ksa_exc.ConnectFailure('connection refused'))
        self.dr.latency = latency

    def close(self):
        self.runner.close()
        self.store.close()


def _dr_calls(site):
    """Calls the DR site served so far (the qualified counts only)."""
    return sum(count for name, count in site.calls.items() if '.' in name)


def _timed(world, latency, run):
    """Lose the primary, then time ``run()``: figures of the takeover."""
    from geoflows import runtime

    world.lose_primary(latency)
    runtime.tune_for_large_jobs()  # as the geoflows command does
    calls = _dr_calls(world.dr)
    sites = (world.primary, world.dr)
    cloud_cpu = sum(site.serving_cpu for site in sites)
    cpu, start = bench._cpu_seconds(), time.monotonic()
    state = run()
    makespan = time.monotonic() - start
    cpu = bench._cpu_seconds() - cpu
    cloud_cpu = sum(site.serving_cpu for site in sites) - cloud_cpu
    # The fake cloud's own work is left out: a real cloud does it on its
    # servers, and the fake's lists grow with the number of VNFs.
    return {'state': state, 'makespan': makespan, 'cpu': cpu - cloud_cpu,
            'cloud_cpu': cloud_cpu, 'calls': _dr_calls(world.dr) - calls,
            'servers': len(world.dr.compute.servers())}


def run_geoflows(world, latency, priorities):
    """The takeover job, through the runner."""
    jobs = []

    def run():
        jobs.append(world.runner.start('takeover', world.plan,
                                       params=DISASTER))
        return jobs[0].state
    result = _timed(world, latency, run)
    result['order_kept'] = not priority_violations(
        world.runner.steps(jobs[0].id)[1], len(world.plan.protection_groups[
            0].vnfs), priorities)
    return result


def priority_violations(steps, n, priorities):
    """VNFs that started a step before an earlier priority was ready.

    ``steps``: the step records (Runner.steps) of a takeover of the N
    VNFs of :func:`plan_document` in ``priorities``.  Returns
    (VNF, the VNF of an earlier priority it did not wait for).
    """
    first_start, ready_at = {}, {}
    for step in steps:
        unit = step['unit']
        if not unit.startswith(GROUP + '/') or not step['started_at']:
            continue
        vnf = unit.split('/', 1)[1]
        if vnf not in first_start or step['started_at'] < first_start[vnf]:
            first_start[vnf] = step['started_at']
        if step['name'] == 'ready':
            ready_at[vnf] = step['finished_at']
    by_priority = collections.defaultdict(list)
    for vnf in first_start:
        by_priority[priority_of(int(vnf.split('-')[1]), n, priorities)] \
            .append(vnf)
    violations = []
    latest_ready = None  # the last VNF of the earlier priorities ready
    for priority in sorted(by_priority):
        vnfs = by_priority[priority]
        if latest_ready is not None:
            violations.extend((vnf, latest_ready[1]) for vnf in vnfs
                              if first_start[vnf] < latest_ready[0])
        for vnf in vnfs:
            when = ready_at.get(vnf)
            if when is None:
                violations.append((vnf, None))  # never ready
            elif latest_ready is None or when > latest_ready[0]:
                latest_ready = (when, vnf)
    return violations


def unit_generations(units):
    """The units in generations: each after every unit it must follow.

    The baseline runs them so, one generation after the other: that keeps
    every order of the job (dependencies, priorities) in one graph.
    """
    import networkx

    graph = networkx.DiGraph()
    graph.add_nodes_from(unit['name'] for unit in units)
    for unit in units:
        for before in list(unit['after']) + list(unit.get('follows', ())):
            graph.add_edge(before, unit['name'])
    by_name = {unit['name']: unit for unit in units}
    return [[by_name[name] for name in sorted(generation)]
            for generation in networkx.topological_generations(graph)]


def baseline_flow(units, options, ctx):
    """The job's units as one Taskflow graph (atoms named per unit)."""
    from taskflow.patterns import linear_flow
    from taskflow.patterns import unordered_flow

    from geoflows import flows
    from geoflows import runner

    plan = linear_flow.Flow('takeover')
    for i, generation in enumerate(unit_generations(units)):
        step = unordered_flow.Flow('generation-%d' % i)
        for unit in generation:
            flow = flows.build(unit['flow'], unit['args'], options)
            runner.bind(flow, ctx)
            for atom in runner.iter_atoms(flow):
                atom.name = '%s/%s' % (unit['name'], atom.name)
            step.add(flow)
        plan.add(step)
    return plan


def run_baseline(world, latency, url, cap):
    """The same takeover as one Taskflow graph with stock persistence."""
    import contextlib
    import uuid

    import futurist
    from oslo_utils import uuidutils
    from taskflow import engines
    from taskflow.persistence import backends
    from taskflow.persistence import models

    from geoflows import jobs
    from geoflows import operations
    from geoflows import store as store_mod

    job_id = uuidutils.generate_uuid()
    options = dict(OPTIONS, job_id=job_id, **DISASTER)
    units = operations.build_units('takeover', world.plan, None,
                                   context=world.runner.context,
                                   options=options)
    # The job's record (not its logbook: the baseline keeps its own),
    # which the takeover's report reads.
    plan = world.plan
    world.runner.create_job('takeover', {
        'name': plan.name, 'digest': plan.digest, 'source': plan.source,
        'document': plan.document}, units, job_id=job_id, params=DISASTER)
    # Taskflow's stock persistence, in a database of its own beside the
    # state store.
    backend = backends.fetch({'connection': url.replace(
        'geoflows.sqlite', 'baseline.sqlite')})
    with contextlib.closing(backend.get_connection()) as conn:
        conn.upgrade()
    executor = futurist.ThreadPoolExecutor(max_workers=cap)

    def run():
        world.store.update_job(job_id, state=jobs.RUNNING,
                               started_at=store_mod.utcnow())
        flow = baseline_flow(units, options, world.runner.context)
        book = models.LogBook('takeover', uuid=job_id)
        detail = models.FlowDetail('takeover', str(uuid.uuid4()))
        book.add(detail)
        with contextlib.closing(backend.get_connection()) as conn:
            conn.save_logbook(book)
        engine = engines.load(flow, flow_detail=detail, book=book,
                              backend=backend, engine='parallel',
                              executor=executor, store={'job_id': job_id})
        engine.run()
        return engine.storage.get_flow_state()

    try:
        return dict(_timed(world, latency, run),
                    # one graph: the generations run one after the other
                    order_kept=None)
    finally:
        executor.shutdown(wait=False)


def worker(case):
    """One case, in its own process: set up, then time one runner."""
    world = World(case['n'], case['priorities'], case['url'],
                  case['workdir'], case['cap'])
    try:
        world.prepare()
        if case['runner'] == 'geoflows':
            result = run_geoflows(world, case['latency'],
                                  case['priorities'])
        else:
            result = run_baseline(world, case['latency'], case['url'],
                                  case['cap'])
    finally:
        world.close()
    return result


def run_case(runner, n, priorities, latency, cap, timeout=7200):
    """Run one case in a fresh process (SQLite store); add the bound."""
    with bench._case_store('sqlite', None) as (workdir, url):
        result = bench.run_worker(
            {'runner': 'takeover-' + runner, 'n': n,
             'priorities': priorities, 'latency': latency, 'cap': cap,
             'url': url, 'workdir': workdir},
            'the takeover by %s of %d VNFs' % (runner, n), timeout)
    k = result['calls'] / float(n)
    bound = lower_bound(group_sizes(n, priorities), k, latency, cap)
    result.update(runner=runner, n=n, priorities=priorities, k=k,
                  latency=latency, cap=cap, lower_bound=bound,
                  ratio=result['makespan'] / bound if bound else None,
                  cpu_per_vnf=result['cpu'] / n,
                  cpu_per_call=result['cpu'] / max(result['calls'], 1),
                  cloud_cpu_per_call=result['cloud_cpu'] / max(
                      result['calls'], 1))
    return result
