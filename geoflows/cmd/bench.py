"""geoflows bench: the runner's benchmark (see geoflows.bench)."""

import os
import sys
import time

from geoflows import bench
from geoflows.cmd import common


def _vnf_counts(text):
    try:
        counts = [int(item) for item in text.split(',') if item.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise bench.BenchError('--vnfs %r: give positive numbers separated '
                               'by commas, such as 100,1000' % text)
    return counts


def _stores(text):
    stores = [item.strip() for item in text.split(',') if item.strip()]
    unknown = sorted(set(stores) - set(bench.STORES))
    if not stores or unknown:
        raise bench.BenchError('--stores %r: use some of %s, separated by '
                               'commas' % (text, ', '.join(bench.STORES)))
    return stores


class Bench(common.Lister):
    """Measure the runner: N VNFs of k steps on a fake site.

    Each step makes one call to a site that answers after LATENCY seconds
    and serves at most CAP calls at once, so no runner can finish before
    max(k*L, N*k*L/C).  Prints, per case, the makespan, that lower bound,
    their ratio, the orchestration CPU per VNF, the state store's writes
    (statements) and commits (transactions), and the peak memory, for
    geoflows' runner and for the naive baseline (one Taskflow graph of the
    whole plan, stock persistence).

    With --takeover, measure a disaster takeover of N cold VNFs in
    --priorities groups by the real takeover units and flows instead:
    k is counted from the calls the DR site served, the bound summed over
    the priorities; the table adds the CPU per call, the fake cloud's own
    CPU (left out of the runner's), the machine's reference figure and
    load before each case, and whether the priorities were kept.

    With --cli, measure the command line instead: how long geoflows
    commands take as whole processes, against a fresh state store holding
    a few jobs.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--vnfs', default='100,1000', metavar='N,...',
                            help='numbers of VNFs (default: %(default)s)')
        parser.add_argument('--steps', type=int, default=5, metavar='K',
                            help='steps per VNF (default: %(default)s)')
        parser.add_argument('--latency', type=float, default=0.1,
                            metavar='SECONDS',
                            help='latency of a call (default: %(default)s)')
        parser.add_argument('--cap', type=int, default=64, metavar='C',
                            help='concurrent calls a site serves '
                                 '(default: %(default)s)')
        parser.add_argument('--stores', default='sqlite,postgresql',
                            metavar='KIND,...',
                            help='state stores: sqlite, postgresql '
                                 '(default: %(default)s)')
        parser.add_argument('--postgresql', default=bench.POSTGRESQL_SERVER,
                            metavar='URL',
                            help='PostgreSQL server where a database is '
                                 'created per case (default: %(default)s)')
        parser.add_argument('--baseline-max', type=int, default=None,
                            metavar='N',
                            help='run the baseline for N up to this; it '
                                 'grows with N squared (default: 1000, '
                                 'with --takeover 100; 0: never)')
        parser.add_argument('--resume', type=int, default=0, metavar='N',
                            help='also kill (SIGKILL) a runner of N VNFs '
                                 'once 10%% of them finished, resume the '
                                 'job in a new process and time its first '
                                 'call')
        takeover = parser.add_argument_group(
            'takeover', 'geoflows bench --takeover: a disaster takeover of '
            'N cold VNFs by the real takeover flows (SQLite store; --steps,'
            ' --stores and --resume are then not used)')
        takeover.add_argument('--takeover', action='store_true',
                              help='measure the takeover flows')
        takeover.add_argument('--priorities', type=int, default=5,
                              metavar='P',
                              help='priorities the VNFs are spread over '
                                   '(default: %(default)s)')
        cli = parser.add_argument_group(
            'command line', 'geoflows --cli: time --version, --help, plan '
            'validate, job list and job show as whole processes (the '
            'options above are then not used)')
        cli.add_argument('--cli', action='store_true',
                         help='measure the command line, not the runner')
        cli.add_argument('--runs', type=int, default=5, metavar='N',
                         help='timed runs of each command (default: '
                              '%(default)s), after one untimed run')
        cli.add_argument('--geoflows', metavar='PATH',
                         help='the geoflows command to time (default: the '
                              'one of this Python environment)')
        cli.add_argument('--plan', metavar='PLAN',
                         help='plan for "plan validate" and the recorded '
                              'jobs (default: the example plan, '
                              'etc/plans/example.yaml)')
        return parser

    def take_action(self, parsed_args):
        if parsed_args.cli:
            return self.measure_cli(parsed_args)
        if parsed_args.takeover:
            return self.measure_takeover(parsed_args)
        args = parsed_args
        if args.baseline_max is None:
            args.baseline_max = 1000
        stores = _stores(args.stores)
        counts = _vnf_counts(args.vnfs)
        if args.steps < 1 or args.cap < 1 or args.latency < 0:
            raise bench.BenchError('--steps and --cap must be at least 1, '
                                   '--latency at least 0')
        rows = []
        for n in counts:
            for store in stores:
                runners = ['geoflows']
                if n <= args.baseline_max:
                    runners.append('baseline')
                for runner in runners:
                    self.app.stderr.write('running %s, %d VNFs, %s...\n'
                                          % (runner, n, store))
                    load, reference = _machine()
                    result = bench.run_case(
                        runner, n, args.steps, args.latency, args.cap, store,
                        server=args.postgresql)
                    rows.append(_row(result) + (round(reference),
                                                round(load, 2),
                                                result['state']))
        if args.resume:
            for store in stores:
                self.app.stderr.write('killing and resuming %d VNFs, %s...\n'
                                      % (args.resume, store))
                result = bench.run_resume_case(
                    args.resume, args.steps, args.latency, args.cap, store,
                    server=args.postgresql)
                self.app.stderr.write(
                    'resume of %d VNFs (%s) after SIGKILL: first call %.2fs '
                    'after the process was launched (%.2fs after resume()), '
                    'job %s in %.1fs, peak %.0f MiB\n' % (
                        result['n'], store, result['first_call_after_start'],
                        result['first_call_after_resume'], result['state'],
                        result['resume_makespan'], result['peak_mib']))
        self.app.stderr.write(
            'reference: CPU time of sum(range(10**7)), best of 5, measured '
            'before each case; %d CPU cores; Python %s\n' % (
                os.cpu_count(), '.'.join(map(str, sys.version_info[:3]))))
        return (('Runner', 'Store', 'VNFs', 'Steps', 'Makespan (s)',
                 'Lower bound (s)', 'Ratio', 'CPU/VNF (ms)',
                 'CPU/call (ms)', 'Writes', 'Commits', 'Peak (MiB)',
                 'Reference (ms)', 'Load', 'State'), rows)

    def measure_takeover(self, args):
        from geoflows import bench_takeover

        counts = _vnf_counts(args.vnfs)
        if args.cap < 1 or args.latency < 0 or args.priorities < 1 or \
                min(counts) < args.priorities:
            raise bench.BenchError('--cap and --priorities must be at least '
                                   '1, --latency at least 0, and every '
                                   'number of VNFs at least --priorities')
        baseline_max = 100 if args.baseline_max is None \
            else args.baseline_max
        rows = []
        for n in counts:
            runners = ['geoflows'] + (['baseline'] if n <= baseline_max
                                      else [])
            for runner in runners:
                load, reference = _machine()
                self.app.stderr.write(
                    'takeover by %s, %d VNFs (reference %.0f ms, load '
                    '%.2f)...\n' % (runner, n, reference, load))
                result = bench_takeover.run_case(
                    runner, n, args.priorities, args.latency, args.cap)
                rows.append(_takeover_row(result, reference, load))
        self.app.stderr.write(
            'reference: CPU time of sum(range(10**7)), best of 5, measured '
            'before each case; %d CPU cores; Python %s\n' % (
                os.cpu_count(), '.'.join(map(str, sys.version_info[:3]))))
        return (('VNFs', 'Runner', 'Wall (s)', 'Lower bound (s)', 'Ratio',
                 'Calls/VNF', 'CPU/VNF (ms)', 'CPU/call (ms)',
                 'Cloud CPU/call (ms)', 'Peak (MiB)', 'Reference (ms)',
                 'Load', 'Order kept', 'State'), rows)

    def measure_cli(self, args):
        if args.runs < 1:
            raise bench.BenchError('--runs must be at least 1')
        command = args.geoflows or bench.default_geoflows()
        if not command:
            raise bench.BenchError('no geoflows command beside %s nor on '
                                   'the PATH; give --geoflows PATH'
                                   % sys.executable)
        plan = args.plan or bench.example_plan()
        if not plan:
            raise bench.BenchError('the example plan is neither in a source '
                                   'tree nor under %s/share/geoflows; give '
                                   '--plan PATH' % sys.prefix)
        self.app.stderr.write('timing %s, %d runs of each command...\n'
                              % (command, args.runs))

        def on_error(words, stderr):
            self.app.stderr.write('geoflows %s failed:\n%s\n' % (
                ' '.join(words), stderr[-2000:]))

        # The machine's speed before and after the runs: if they differ,
        # something else took the machine in between.
        load, before = os.getloadavg()[0], bench.reference_ms()
        results = bench.run_cli_case(command, plan, args.runs, on_error)
        self.app.stderr.write(
            'reference: sum(range(10**7)) takes %.0f ms here (best of 5; '
            '%.0f ms before the runs); %d CPU cores, load average %.2f '
            'before the runs; Python %s\n'
            % (bench.reference_ms(), before, os.cpu_count(), load,
               '.'.join(map(str, sys.version_info[:3]))))
        return (('Command', 'Runs', 'Wall median (s)', 'Wall max (s)',
                 'CPU median (s)', 'CPU max (s)', 'Exit'),
                [(r['command'], r['runs'], round(r['wall_median'], 3),
                  round(r['wall_max'], 3), round(r['cpu_median'], 3),
                  round(r['cpu_max'], 3),
                  ','.join(str(code) for code in r['exit_codes']))
                 for r in results])


def _row(result):
    return (result['runner'], result['store'], result['n'], result['k'],
            round(result['makespan'], 2), round(result['lower_bound'], 2),
            round(result['ratio'], 3) if result['ratio'] else None,
            round(1000 * result['cpu_per_vnf'], 2),
            round(1000 * result['cpu_per_vnf'] / result['k'], 3),
            result['writes'], result['commits'], round(result['peak_mib']))


def _machine():
    """The load average and reference figure, just before a case.

    The reference is the CPU time of the loop: on a quiet machine it is
    what ``python -m timeit`` says; on a busy one its wall time would
    count the other processes' turns too.
    """
    return os.getloadavg()[0], bench.reference_ms(timer=time.process_time)


def _takeover_row(result, reference, load):
    return (result['n'], result['runner'], round(result['makespan'], 2),
            round(result['lower_bound'], 2),
            round(result['ratio'], 3) if result['ratio'] else None,
            round(result['k'], 2), round(1000 * result['cpu_per_vnf'], 2),
            round(1000 * result['cpu_per_call'], 3),
            round(1000 * result['cloud_cpu_per_call'], 3),
            round(result['peak_mib']), round(reference), round(load, 2),
            {True: 'yes', False: 'NO', None: '-'}[result['order_kept']],
            result['state'])
