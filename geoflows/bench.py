"""The runner's benchmark: N VNFs, each a chain of k steps.

Every step makes one call to a site of the in-memory fake cloud, which
answers after ``latency`` seconds and serves at most ``cap`` calls at once.
A job of N such units therefore cannot end before
``max(k * latency, N * k * latency / cap)``: the lower bound.  What the
runner adds beyond it (engines, persistence, progress, scheduling) is its
cost.

Each case runs in a fresh Python process, so that its CPU time and peak
memory are its own.  Two runners are measured:

``geoflows``  the real runner: one unit (flow, flow detail, engine) per VNF,
              the geoflows state store, progress events;
``baseline``  the naive design: the whole plan as one Taskflow graph, with
              Taskflow's stock SQLAlchemy persistence.

``geoflows bench`` drives the cases and prints the table.
"""

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

SITE = {'name': 'bench', 'cloud': 'bench', 'region': None}
POSTGRESQL_SERVER = 'postgresql+psycopg2://postgres@127.0.0.1:5432/postgres'


def lower_bound(n, k, latency, cap):
    return max(k * latency, n * k * latency / cap)


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def units(n, k):
    return [{'name': 'vnf-%05d' % i, 'flow': 'bench.chain',
             'args': {'site': SITE, 'vnf': 'vnf-%05d' % i, 'steps': k},
             'after': [], 'locks': []}
            for i in range(n)]


def run_geoflows(n, k, latency, cap, url, workdir, units_per_call=None):
    """One job of N chain units through the runner; returns figures."""
    units_per_call = units_per_call or float(os.environ.get(
        'GEOFLOWS_BENCH_UNITS_PER_CALL', 2))
    from geoflows import runner
    from geoflows import secrets
    from geoflows import store as store_mod
    from geoflows.testing import fakecloud

    clouds = fakecloud.FakeClouds(latency=latency, max_concurrent_calls=cap)
    store = store_mod.StateStore(url)
    jobs = runner.Runner(
        store, clouds, secrets.SecretResolver(os.path.join(workdir, 'key')),
        options={}, max_parallel_units=int(cap * units_per_call),
        max_parallel_calls=cap)
    events = [0]

    def on_event(event):
        events[0] += 1

    store.upgrade()
    writes = store.writes
    cpu, start = _cpu_seconds(), time.monotonic()
    job_id = jobs.create_job('bench.chain', {
        'name': 'bench', 'digest': 'bench', 'source': 'geoflows bench',
        'document': {}}, units(n, k))
    job = jobs.run(job_id, on_event=on_event)
    makespan = time.monotonic() - start
    cpu = _cpu_seconds() - cpu
    site = clouds.site('bench')
    jobs.close()
    return {'state': job.state, 'makespan': makespan, 'cpu': cpu,
            'writes': store.writes - writes, 'events': events[0],
            'calls': site.calls['bench_call']}


def run_baseline(n, k, latency, cap, url, workdir):
    """The whole plan as one Taskflow graph with stock persistence."""
    import futurist
    from taskflow import engines
    from taskflow.patterns import linear_flow
    from taskflow.patterns import unordered_flow
    from taskflow.persistence import backends
    from taskflow.persistence import models

    from geoflows import context
    from geoflows import secrets
    from geoflows.tasks import synthetic
    from geoflows.testing import fakecloud

    clouds = fakecloud.FakeClouds(latency=latency, max_concurrent_calls=cap)
    context.install(context.Context(clouds, None, secrets.SecretResolver(
        os.path.join(workdir, 'key'))))
    backend = backends.fetch({'connection': url})
    with contextlib.closing(backend.get_connection()) as conn:
        conn.upgrade()
    commits = [0]
    sa.event.listen(backend.engine, 'commit',
                    lambda conn: commits.__setitem__(0, commits[0] + 1))
    cpu, start = _cpu_seconds(), time.monotonic()
    flow = unordered_flow.Flow('plan')
    for i in range(n):
        vnf = 'vnf-%05d' % i
        flow.add(linear_flow.Flow(vnf).add(*[
            synthetic.Call('%s.step-%d' % (vnf, j), SITE, vnf, j)
            for j in range(k)]))
    book = models.LogBook('bench')
    detail = models.FlowDetail('plan', str(uuid.uuid4()))
    book.add(detail)
    with contextlib.closing(backend.get_connection()) as conn:
        conn.save_logbook(book)
    executor = futurist.ThreadPoolExecutor(max_workers=cap)
    engine = engines.load(flow, flow_detail=detail, book=book,
                          backend=backend, engine='parallel',
                          executor=executor)
    engine.run()
    makespan = time.monotonic() - start
    cpu = _cpu_seconds() - cpu
    executor.shutdown(wait=False)
    return {'state': engine.storage.get_flow_state(), 'makespan': makespan,
            'cpu': cpu, 'writes': commits[0], 'events': None,
            'calls': clouds.site('bench').calls['bench_call']}


RUNNERS = {'geoflows': run_geoflows, 'baseline': run_baseline}


def worker(argv):
    """Entry point of one case: ``python -m geoflows.bench JSON``."""
    case = json.loads(argv[0])
    import logging
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger('taskflow').setLevel(logging.CRITICAL)
    result = RUNNERS[case['runner']](
        case['n'], case['k'], case['latency'], case['cap'], case['url'],
        case['workdir'])
    result['peak_mib'] = _peak_mib()
    print(json.dumps(result))


@contextlib.contextmanager
def state_store(kind, workdir, server=POSTGRESQL_SERVER):
    """A fresh, empty state store URL of ``kind`` for one case."""
    if kind == 'sqlite':
        path = os.path.join(workdir, 'state-%s' % uuid.uuid4().hex[:8],
                            'geoflows.sqlite')
        os.makedirs(os.path.dirname(path))
        yield 'sqlite:///%s' % path
        return
    admin = sa.create_engine(server, isolation_level='AUTOCOMMIT')
    name = 'geoflows_bench_%s' % uuid.uuid4().hex[:12]
    try:
        with admin.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % name))
        yield sa.engine.make_url(server).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS %s WITH (FORCE)'
                                 % name))
        admin.dispose()


def run_case(runner, n, k, latency, cap, store, workdir=None,
             timeout=3600):
    """Run one case in a fresh process; return its figures."""
    with contextlib.ExitStack() as stack:
        workdir = workdir or stack.enter_context(tempfile.TemporaryDirectory(
            prefix='geoflows-bench-'))
        url = stack.enter_context(state_store(store, workdir))
        case = {'runner': runner, 'n': n, 'k': k, 'latency': latency,
                'cap': cap, 'url': url, 'workdir': workdir}
        proc = subprocess.run(
            [sys.executable, '-m', 'geoflows.bench', json.dumps(case)],
            capture_output=True, text=True, timeout=timeout,
            env=dict(os.environ, PYTHONWARNINGS='ignore'))
        if proc.returncode != 0:
            raise RuntimeError('benchmark case %s failed:\n%s'
                               % (case, proc.stderr[-3000:]))
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    bound = lower_bound(n, k, latency, cap)
    result.update(runner=runner, store=store, n=n, k=k, latency=latency,
                  cap=cap, lower_bound=bound,
                  ratio=result['makespan'] / bound if bound else None,
                  cpu_per_vnf=result['cpu'] / n)
    return result


if __name__ == '__main__':
    worker(sys.argv[1:])
