"""geoflows bench: the runner's benchmark (see geoflows.bench)."""

import os
import sys

from cliff import lister

from geoflows import bench


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


class Bench(lister.Lister):
    """Measure the runner: N VNFs of k steps on a fake site.

    Each step makes one call to a site that answers after LATENCY seconds
    and serves at most CAP calls at once, so no runner can finish before
    max(k*L, N*k*L/C).  Prints, per case, the makespan, that lower bound,
    their ratio, the orchestration CPU per VNF, the state store's writes
    (statements) and commits (transactions), and the peak memory, for
    geoflows' runner and for the naive baseline (one Taskflow graph of the
    whole plan, stock persistence).
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
        parser.add_argument('--baseline-max', type=int, default=1000,
                            metavar='N',
                            help='run the baseline for N up to this; it '
                                 'grows with N squared (default: '
                                 '%(default)s; 0: never)')
        parser.add_argument('--resume', type=int, default=0, metavar='N',
                            help='also kill (SIGKILL) a runner of N VNFs '
                                 'once 10%% of them finished, resume the '
                                 'job in a new process and time its first '
                                 'call')
        return parser

    def take_action(self, parsed_args):
        args = parsed_args
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
                    result = bench.run_case(
                        runner, n, args.steps, args.latency, args.cap, store,
                        server=args.postgresql)
                    rows.append(_row(result))
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
        self.app.stderr.write('%d CPU cores; Python %s\n' % (
            os.cpu_count(), '.'.join(map(str, sys.version_info[:3]))))
        return (('Runner', 'Store', 'VNFs', 'Steps', 'Makespan (s)',
                 'Lower bound (s)', 'Ratio', 'CPU/VNF (ms)', 'Writes',
                 'Commits', 'Peak (MiB)', 'State'), rows)


def _row(result):
    return (result['runner'], result['store'], result['n'], result['k'],
            round(result['makespan'], 2), round(result['lower_bound'], 2),
            round(result['ratio'], 3) if result['ratio'] else None,
            round(1000 * result['cpu_per_vnf'], 2), result['writes'],
            result['commits'], round(result['peak_mib']), result['state'])
