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

``geoflows bench --cli`` measures something else: how long the ``geoflows``
command takes to answer, timed as whole processes (interpreter start,
imports, configuration, the command's work), against a fresh SQLite state
store that holds a few jobs (see :func:`run_cli_case`).

SQLAlchemy, Taskflow and the runner are imported by the functions that use
them: ``geoflows --help`` imports this module (for the command's options).
"""

import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid

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
    import sqlalchemy as sa
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
    if case['runner'].startswith('takeover-'):
        from geoflows import bench_takeover
        result = bench_takeover.worker(dict(case, runner=case['runner'][
            len('takeover-'):]))
    elif case['runner'] == 'resume':
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
    import sqlalchemy as sa

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


# -- the command line's start-up ------------------------------------------

#: the commands ``geoflows bench --cli`` times; PLAN and JOB are replaced by
#: the example plan and a recorded job
CLI_COMMANDS = (
    ('--version',),
    ('--help',),
    ('plan', 'validate', 'PLAN'),
    ('job', 'list'),
    ('job', 'show', 'JOB'),
)

#: options of the jobs recorded for ``job list`` and ``job show``
_CLI_JOB_OPTIONS = {
    'route_target_pool': {'asn': 64512, 'first': 1000, 'last': 1099},
    'active_attempts': 5,
    'active_interval': 0.0,
}


def reference_ms(repeat=5, timer=time.perf_counter):
    """This machine's speed: ``sum(range(10**7))``, best of ``repeat``, ms.

    Figures measured on two machines compare once divided by it.  With
    ``timer=time.process_time`` it is the loop's CPU time, which the
    other processes of a busy machine inflate less than its wall time.
    """
    return 1000 * min(timeit.repeat('sum(range(10**7))', number=1,
                                    repeat=repeat, timer=timer))


def default_geoflows():
    """The ``geoflows`` command of this Python environment, else PATH's."""
    beside = os.path.join(os.path.dirname(sys.executable), 'geoflows')
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which('geoflows')


def example_plan():
    """etc/plans/example.yaml: the source tree's, else the installed one."""
    package = os.path.dirname(os.path.abspath(__file__))
    for path in (os.path.join(os.path.dirname(package), 'etc', 'plans',
                              'example.yaml'),
                 os.path.join(sys.prefix, 'share', 'geoflows', 'plans',
                              'example.yaml')):
        if os.path.isfile(path):
            return path
    return None


def record_jobs(state_dir, plan_path):
    """Record a few finished jobs of ``plan_path`` in a fresh state store.

    They run on the in-memory fake cloud: the setup of every interconnect,
    a check, the teardown and setup again of one, and a job created but not
    run (PENDING).  Returns the id of the first (the largest to show).
    """
    from geoflows import jobs as jobs_mod
    from geoflows import plan as plan_mod
    from geoflows import runner
    from geoflows import secrets
    from geoflows import store as store_mod
    from geoflows.testing import fakecloud

    plan = plan_mod.load(plan_path)
    store = store_mod.StateStore(store_mod.default_url(state_dir))
    jobs = runner.Runner(
        store, fakecloud.FakeClouds(),
        secrets.SecretResolver(os.path.join(state_dir, 'master.key')),
        _CLI_JOB_OPTIONS)
    try:
        first = jobs.start('interconnect.setup', plan)
        last = plan.interconnects[-1].name
        done = [first,
                jobs.start('interconnect.check', plan),
                jobs.start('interconnect.teardown', plan, [last]),
                jobs.start('interconnect.setup', plan, [last])]
        jobs.create('interconnect.check', plan)
    finally:
        jobs.close()
        store.close()
    failed = [job for job in done if job.state != jobs_mod.SUCCESS]
    if failed:
        raise BenchError('recording the jobs of --cli failed: job %s ended '
                         '%s: %s' % (failed[0].id, failed[0].state,
                                     failed[0].error))
    return first.id


def _cli_env(config_file):
    """The environment of the timed commands: only ``config_file``.

    OS_<GROUP>__<OPTION> variables would override it; they are left out.
    """
    env = {key: value for key, value in os.environ.items()
           if not (key.startswith('OS_') and '__' in key)}
    env['GEOFLOWS_CONFIG_FILE'] = config_file
    env['PYTHONWARNINGS'] = 'ignore'
    return env


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv, env, cwd, timeout=120):
    """Run ``argv`` to its end; return (wall s, CPU s, exit code, stderr)."""
    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - start
    return wall, _children_cpu() - cpu, proc.returncode, proc.stderr


def run_cli_case(geoflows, plan_path, runs=5, on_error=None):
    """Time each of CLI_COMMANDS ``runs`` times, as whole processes.

    Each command runs once first, untimed (the operating system's caches
    and Python's bytecode files are then warm, as for an operator's
    second command), then the commands take turns ``runs`` times so that
    a slow moment of the machine spreads over all of them.  CPU is the
    children's user and system time (getrusage) around each run.

    Returns one dict per command: its words, the medians and maxima of
    wall and CPU seconds, and the exit codes seen.  ``on_error(words,
    stderr)`` is called for a run that exited non-zero.
    """
    with tempfile.TemporaryDirectory(prefix='geoflows-bench-cli-') as work:
        state_dir = os.path.join(work, 'state')
        config_file = os.path.join(work, 'geoflows.conf')
        with open(config_file, 'w') as f:
            f.write('[DEFAULT]\nstate_dir = %s\n' % state_dir)
        job_id = record_jobs(state_dir, plan_path)
        env = _cli_env(config_file)
        commands = [tuple({'PLAN': plan_path, 'JOB': job_id}.get(word, word)
                          for word in words) for words in CLI_COMMANDS]
        samples = {words: [] for words in commands}
        for round_ in range(runs + 1):
            for words in commands:
                wall, cpu, code, stderr = time_command(
                    [geoflows] + list(words), env, work)
                if code and on_error:
                    on_error(words, stderr)
                if round_:  # the first round only warms up
                    samples[words].append((wall, cpu, code))
    results = []
    for words, shown in zip(commands, CLI_COMMANDS):
        walls = [wall for wall, _cpu, _code in samples[words]]
        cpus = [cpu for _wall, cpu, _code in samples[words]]
        results.append({
            'command': ' '.join(('geoflows',) + shown),
            'runs': runs,
            'wall_median': statistics.median(walls), 'wall_max': max(walls),
            'cpu_median': statistics.median(cpus), 'cpu_max': max(cpus),
            'exit_codes': sorted({code for _w, _c, code in samples[words]})})
    return results


if __name__ == '__main__':
    worker(sys.argv[1:])
