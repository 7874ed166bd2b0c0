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
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

from geoflows import exceptions

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


# Units in flight per concurrent call the site accepts: a unit between two
# calls (saving its state) must not leave a call slot idle.
UNITS_PER_CALL = 2


def make_runner(latency, cap, url, workdir):
    """A fake cloud, a state store and a runner sized for the fake site."""
    from geoflows import runner
    from geoflows import runtime
    from geoflows import secrets
    from geoflows import store as store_mod
    from geoflows.testing import fakecloud

    clouds = fakecloud.FakeClouds(latency=latency, max_concurrent_calls=cap)
    store = store_mod.StateStore(url)
    store.upgrade()
    jobs = runner.Runner(
        store, clouds, secrets.SecretResolver(os.path.join(workdir, 'key')),
        options={}, max_parallel_units=cap * UNITS_PER_CALL,
        max_parallel_calls=cap)
    runtime.tune_for_large_jobs()  # as the geoflows command does
    return clouds, store, jobs


def _event_printer(counter):
    """Count events; print them too with GEOFLOWS_BENCH_PRINT_EVENTS.

    A step's event comes after its state was committed.
    """
    show = bool(os.environ.get('GEOFLOWS_BENCH_PRINT_EVENTS'))

    def on_event(event):
        counter[0] += 1
        if show:
            sys.stdout.write('EVENT %s %s %s\n' % (event.unit, event.step,
                                                   event.state))
            sys.stdout.flush()
    return on_event


def run_geoflows(n, k, latency, cap, url, workdir):
    """One job of N chain units through the runner; returns figures."""
    clouds, store, jobs = make_runner(latency, cap, url, workdir)
    events = [0]
    writes, commits = store.writes, store.commits
    cpu, start = _cpu_seconds(), time.monotonic()
    job_id = jobs.create_job('bench.chain', {
        'name': 'bench', 'digest': 'bench', 'source': 'geoflows bench',
        'document': {}}, units(n, k))
    sys.stdout.write('JOB %s\n' % job_id)
    sys.stdout.flush()
    job = jobs.run(job_id, on_event=_event_printer(events))
    makespan = time.monotonic() - start
    cpu = _cpu_seconds() - cpu
    site = clouds.site('bench')
    jobs.close()
    return {'state': job.state, 'makespan': makespan, 'cpu': cpu,
            'writes': store.writes - writes,
            'commits': store.commits - commits, 'events': events[0],
            'calls': site.calls['bench_call']}


def resume_geoflows(job_id, latency, cap, url, workdir):
    """Resume a job whose runner was killed; time the first call."""
    clouds, store, jobs = make_runner(latency, cap, url, workdir)
    site = clouds.site('bench')
    resume_called = time.monotonic()
    job = jobs.resume(job_id, on_event=_event_printer([0]))
    done = time.monotonic()
    jobs.close()
    return {'state': job.state,
            # The machine's monotonic clock: the parent, which started this
            # process, compares it with its own reading.
            'first_call_at': site.first_call_at,
            'first_call_after_resume': site.first_call_at - resume_called,
            'resume_makespan': done - resume_called,
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
    from geoflows import runtime
    from geoflows import secrets
    from geoflows.tasks import synthetic
    from geoflows.testing import fakecloud

    clouds = fakecloud.FakeClouds(latency=latency, max_concurrent_calls=cap)
    context.install(context.Context(clouds, None, secrets.SecretResolver(
        os.path.join(workdir, 'key'))))
    backend = backends.fetch({'connection': url})
    with contextlib.closing(backend.get_connection()) as conn:
        conn.upgrade()
    counts = {'writes': 0, 'commits': 0}

    def count_write(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith('SELECT'):
            counts['writes'] += 1

    sa.event.listen(backend.engine, 'before_cursor_execute', count_write)
    sa.event.listen(backend.engine, 'commit',
                    lambda conn: counts.update(commits=counts['commits'] + 1))
    runtime.tune_for_large_jobs()  # the same settings for both runners
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
            'cpu': cpu, 'writes': counts['writes'],
            'commits': counts['commits'], 'events': None,
            'calls': clouds.site('bench').calls['bench_call']}


RUNNERS = {'geoflows': run_geoflows, 'baseline': run_baseline}


def worker(argv):
    """Entry point of one case: ``python -m geoflows.bench JSON``."""
    case = json.loads(argv[0])
    import logging
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger('taskflow').setLevel(logging.CRITICAL)
    if case['runner'] == 'resume':
        result = resume_geoflows(case['job_id'], case['latency'],
                                 case['cap'], case['url'], case['workdir'])
    else:
        result = RUNNERS[case['runner']](
            case['n'], case['k'], case['latency'], case['cap'], case['url'],
            case['workdir'])
    result['peak_mib'] = _peak_mib()
    print('RESULT ' + json.dumps(result))


STORES = ('sqlite', 'postgresql')


class BenchError(exceptions.GeoflowsError):
    """A case could not run; the message says why and what to do."""


@contextlib.contextmanager
def state_store(kind, workdir, server=POSTGRESQL_SERVER):
    """A fresh, empty state store URL of ``kind`` for one case.

    On PostgreSQL, a database of its own is created on ``server`` and
    dropped afterwards.
    """
    if kind == 'sqlite':
        path = os.path.join(workdir, 'state-%s' % uuid.uuid4().hex[:8],
                            'geoflows.sqlite')
        os.makedirs(os.path.dirname(path))
        yield 'sqlite:///%s' % path
        return
    if kind != 'postgresql':
        raise BenchError('unknown state store %r; use one of: %s'
                         % (kind, ', '.join(STORES)))
    try:
        url = sa.engine.make_url(server)
    except sa.exc.ArgumentError:
        raise BenchError('--postgresql: %r is not a database URL such as %s'
                         % (server, POSTGRESQL_SERVER)) from None
    shown = url.render_as_string(hide_password=True)
    try:
        admin = sa.create_engine(url, isolation_level='AUTOCOMMIT',
                                 connect_args={'connect_timeout': 10})
    except (ImportError, sa.exc.NoSuchModuleError) as e:
        raise BenchError(
            'the PostgreSQL driver for %s is not installed (%s); install '
            'psycopg2-binary, or leave PostgreSQL out with --stores sqlite'
            % (shown, e)) from None
    name = 'geoflows_bench_%s' % uuid.uuid4().hex[:12]
    try:
        with admin.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % name))
    except sa.exc.SQLAlchemyError as e:
        admin.dispose()
        raise BenchError(
            'cannot create a database on the PostgreSQL server %s: %s; give '
            'a server where this user may create databases with '
            '--postgresql, or leave it out with --stores sqlite'
            % (shown, str(getattr(e, 'orig', e)).strip())) from None
    try:
        yield admin.url.set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS %s WITH (FORCE)'
                                 % name))
        admin.dispose()


@contextlib.contextmanager
def _case_store(store, server):
    """A work directory and a fresh state store URL for one case."""
    with tempfile.TemporaryDirectory(prefix='geoflows-bench-') as workdir:
        with state_store(store, workdir, server) as url:
            yield workdir, url


def _worker_env(print_events=False):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    if print_events:
        env['GEOFLOWS_BENCH_PRINT_EVENTS'] = '1'
    return env


def _worker_command(case):
    return [sys.executable, '-m', 'geoflows.bench', json.dumps(case)]


def run_worker(case, what, timeout):
    """Run one case's process to its end; return its RESULT."""
    proc = subprocess.run(_worker_command(case), capture_output=True,
                          text=True, timeout=timeout, env=_worker_env())
    if proc.returncode != 0:
        raise BenchError('%s failed:\n%s' % (what, proc.stderr[-3000:]))
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith('RESULT '):
            return json.loads(line[len('RESULT '):])
    raise BenchError('%s gave no result' % what)


def start_worker(case):
    """Start a runner process that prints its job id and step events."""
    return subprocess.Popen(_worker_command(case), stdout=subprocess.PIPE,
                            text=True, env=_worker_env(print_events=True))


def kill_when(proc, enough):
    """SIGKILL ``proc`` once ``enough(event)`` says so.

    ``enough`` sees each (unit, step, state) the process prints, which it
    prints after the step's state was committed.  Returns the job id and
    every event seen.
    """
    job_id, events = None, []
    for line in proc.stdout:
        words = line.split()
        if words[:1] == ['JOB']:
            job_id = words[1]
        elif words[:1] == ['EVENT']:
            events.append(tuple(words[1:4]))
            if enough(events[-1]):
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait()
    proc.stdout.close()
    if proc.returncode != -signal.SIGKILL:
        raise BenchError('the runner ended before it was killed')
    return job_id, events


def run_case(runner, n, k, latency, cap, store, server=POSTGRESQL_SERVER,
             timeout=3600):
    """Run one case in a fresh process; return its figures."""
    with _case_store(store, server) as (workdir, url):
        result = run_worker(
            {'runner': runner, 'n': n, 'k': k, 'latency': latency,
             'cap': cap, 'url': url, 'workdir': workdir},
            'the %s case of %d VNFs on %s' % (runner, n, store), timeout)
    bound = lower_bound(n, k, latency, cap)
    result.update(runner=runner, store=store, n=n, k=k, latency=latency,
                  cap=cap, lower_bound=bound,
                  ratio=result['makespan'] / bound if bound else None,
                  cpu_per_vnf=result['cpu'] / n)
    return result


def run_resume_case(n, k, latency, cap, store, server=POSTGRESQL_SERVER,
                    kill_after=0.1, timeout=7200):
    """Kill a runner (SIGKILL) mid-job, then resume the job.

    The runner is killed once ``kill_after`` of the job's units finished;
    a new process resumes the job.
    """
    last_step_done = ('step-%d' % (k - 1), 'SUCCESS')
    finished = [0]  # units

    def enough(event):
        finished[0] += event[1:] == last_step_done
        return finished[0] >= n * kill_after

    with _case_store(store, server) as (workdir, url):
        job_id, _ = kill_when(start_worker(
            {'runner': 'geoflows', 'n': n, 'k': k, 'latency': latency,
             'cap': cap, 'url': url, 'workdir': workdir}), enough)
        launched = time.monotonic()
        result = run_worker(
            {'runner': 'resume', 'job_id': job_id, 'latency': latency,
             'cap': cap, 'url': url, 'workdir': workdir},
            'resuming job %s' % job_id, timeout)
    result.update(store=store, n=n, k=k, killed_after_units=finished[0],
                  first_call_after_start=result['first_call_at'] - launched)
    return result


if __name__ == '__main__':
    worker(sys.argv[1:])
