"""Figures of the plan loader on hostile plans: time and peak memory.

    python -m tests.unit.plan.fuzz_figures                 # 2,000 examples
    python -m tests.unit.plan.fuzz_figures --examples 20000
    python -m tests.unit.plan.fuzz_figures --examples 0    # 1 MiB cases only

First, ``--examples`` hostile plans from tests/unit/plan/fuzz.py (YAML
text, bytes, mappings, drawn from random.Random(seed) for seeds 0 to N-1)
go through geoflows.plan in this process: how many were refused, how many
were valid, how many raised anything but PlanError or broke a promise
(unplaced problem, unprintable line), and which were the slowest and the
largest.  Then each of those two, and each family of hostile plans of
``--size`` bytes (1 MiB by default) below, runs in a fresh process as
``geoflows plan validate FILE`` (in-process cliff, output discarded), which
reports its time and its peak RSS (resource.getrusage, which includes the
interpreter and geoflows' imports: the "baseline" case is a valid plan of a
few lines).  Exits 1 if any example escaped or broke a promise, or any case
took 2 s or more of CPU, or 200 MiB (the wall time, printed too, also counts
what else the machine runs).
"""

import argparse
import collections
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from geoflows import plan as plan_mod
from tests.unit.plan import fuzz

MIB = 1024 * 1024
LIMIT_SECONDS = 2.0
LIMIT_MIB = 200


# -- families of hostile plans of about ``size`` bytes -----------------

HEAD = ('version: 1\nname: big\nsites:\n  paris: {cloud: telco, region: '
        'paris}\n  lyon: {cloud: telco, region: lyon}\n')


def _fill(head, item, size, tail='', joiner=''):
    count = max(1, (size - len(head) - len(tail)) // (len(item(0)) +
                                                      len(joiner)))
    return head + joiner.join(item(i) for i in range(count)) + tail


def _interconnect(i, cidr_local=None, cidr_remote=None):
    a, b = divmod(i, 256)
    return ('  - name: ic%d\n'
            '    local: {site: paris, networks: [{name: p%d, cidr: %s}]}\n'
            '    remote: {site: lyon, networks: [{name: l%d, cidr: %s}]}\n'
            '    overlay: {type: bgpvpn}\n' % (
                i, i, cidr_local or '10.%d.%d.0/24' % (a % 128, b), i,
                cidr_remote or '10.%d.%d.0/24' % (128 + a % 128, b)))


def realistic(size):
    """A valid plan: thousands of interconnects."""
    return _fill(HEAD + 'interconnects:\n', _interconnect, size)


def realistic_invalid(size):
    """Every range with host bits set: a problem per network."""
    return _fill(HEAD + 'interconnects:\n', lambda i: _interconnect(
        i, '10.1.0.1/24', '10.2.0.1/24'), size)


def overlapping_networks(size):
    """One interconnect, tens of thousands of networks of one range."""
    return _fill(HEAD + 'interconnects:\n  - name: ic\n    local:\n'
                 '      site: paris\n      networks:\n',
                 lambda i: '        - {name: n%d, cidr: 10.1.0.0/24}\n' % i,
                 size, tail='    remote: {site: lyon, subnets: [b]}\n'
                            '    overlay: {type: ipsec}\n')


def aliased_networks(size):
    """One network written once, used 200,000 times through aliases."""
    return _fill(HEAD + 'interconnects:\n  - name: ic\n    local: {site: '
                 'paris, networks: [&n {name: a, cidr: 10.0.0.0/24}, ',
                 lambda i: '*n', size, joiner=', ',
                 tail=']}\n    remote: {site: lyon, subnets: [b]}\n'
                      '    overlay: {type: bgpvpn}\n')


def aliased_route_targets(size):
    """A valid plan of 250,000 route targets, through aliases."""
    return _fill(HEAD + 'interconnects:\n  - name: ic\n    local: {site: '
                 'paris, subnets: [a]}\n    remote: {site: lyon, subnets: '
                 '[b]}\n    overlay:\n      type: bgpvpn\n      '
                 'route_targets: [&rt "64512:1", ', lambda i: '*rt', size,
                 joiner=', ', tail=']\n')


def aliased_interconnects(size):
    """60,000 uses of one interconnect, then comments up to ``size``.

    1.74 million values, just under the budget.
    """
    ic = ('&ic {name: ic, local: {site: paris, networks: [{name: a, cidr: '
          '10.0.0.0/24}]}, remote: {site: lyon, networks: [{name: b, cidr: '
          '10.0.0.0/25}]}, overlay: {type: ipsec}}')
    text = HEAD + 'interconnects: [%s, %s]\n' % (ic, ', '.join(
        ['*ic'] * 60000))
    return _fill(text, lambda i: '# %s\n' % ('-' * 60), size)


def alias_bomb(size):
    """Billion laughs, then comments up to ``size``."""
    bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n' + ''.join(
        'a%d: &a%d [%s]\n' % (i, i, ', '.join(['*a%d' % (i - 1)] * 10))
        for i in range(1, 10))
    return _fill('version: 1\n', lambda i: '# %s\n' % ('-' * 60), size,
                 tail=bomb)


def merge_bomb(size):
    """Merge keys that double a mapping at each level."""
    lines = ['version: 1', 'm0: &m0 {a: [1, 2, 3, 4, 5, 6, 7, 8]}']
    lines += ['m%d: &m%d {<<: [*m%d, *m%d], k%d: 1}' % (
        i, i, i - 1, i - 1, i) for i in range(1, 60)]
    return _fill('\n'.join(lines) + '\n', lambda i: '# %s\n' % ('-' * 60),
                 size)


def deep_flow(size):
    return 'version: 1\nname: ' + '[' * ((size - 20) // 2) + \
        ']' * ((size - 20) // 2) + '\n'


def deep_block(size):
    lines, depth = ['version: 1', 'name:'], 1
    while sum(len(line) + 1 for line in lines) < size:
        lines.append('  ' * depth + '- ')
        depth = depth + 1 if depth < 2000 else 1
    return '\n'.join(lines) + '\n'


def huge_integers(size):
    """Integers of 4,000 digits (allowed), one of 4,301 at the end."""
    return _fill('version: 1\nname: x\nsites: {a: {cloud: c}}\n'
                 'description: [', lambda i: '9' * 4000, size,
                 joiner=', ', tail=', %s]\n' % ('9' * 4301))


def nul_at_the_end(size):
    return realistic(size - 10) + 'x: \x00\n'


def not_utf8_at_the_end(size):
    return realistic(size - 10).encode() + b'x: \xff\n'


def newline_keys(size):
    return _fill('version: 1\nname: x\nsites:\n',
                 lambda i: '  "s%d\\n\\x1b[2J": {cloud: c}\n' % i, size)


def unknown_sites(size):
    """Thousands of sites, each interconnect names one that is not."""
    half = size // 2
    sites = _fill('version: 1\nname: x\nsites:\n',
                  lambda i: '  s%d: {cloud: telco}\n' % i, half)
    return _fill(sites + 'interconnects:\n', lambda i: (
        '  - {name: i%d, local: {site: s1, subnets: [a]}, remote: {site: '
        'nowhere, subnets: [b]}, overlay: {type: bgpvpn}}\n' % i), size)


def long_value(size):
    return 'version: 1\nname: "%s"\nsites: {a: {cloud: c}}\n' % (
        'x' * (size - 60))


def baseline(size):
    """A valid plan of a few lines: what the process costs by itself."""
    return HEAD


FAMILIES = collections.OrderedDict((f.__name__.replace('_', '-'), f) for f in (
    baseline, realistic, realistic_invalid, overlapping_networks,
    aliased_networks, aliased_route_targets, aliased_interconnects,
    alias_bomb, merge_bomb,
    deep_flow, deep_block, huge_integers, nul_at_the_end,
    not_utf8_at_the_end, newline_keys, unknown_sites, long_value))


# -- generated examples --------------------------------------------------

KINDS = ('text', 'bytes', 'mapping')


def example(seed):
    """(kind, input, source text) of generated example ``seed``.

    A mapping's source is the YAML text it was loaded from (its size, and
    what a fresh process reads).
    """
    kind = KINDS[seed % len(KINDS)]
    chooser = fuzz.RandomChooser(seed)
    if kind == 'text':
        value = fuzz.hostile_text(chooser)
        return kind, value, value
    if kind == 'bytes':
        value = fuzz.hostile_bytes(chooser)
        return kind, value, value
    text, value = fuzz.hostile_data_and_text(chooser)
    return kind, value, text


def run_example(seed):
    """(outcome, seconds, size) of example ``seed``."""
    kind, value, source = example(seed)
    if kind == 'mapping':
        result, seconds = fuzz.timed(plan_mod.from_document, value)
        size = len(source)
    else:
        result, seconds = fuzz.timed(plan_mod.parse, value)
        size = len(value)
    if isinstance(result, plan_mod.Plan):
        return 'valid', seconds, size
    try:
        fuzz.check_error(result, None if kind == 'mapping' else value,
                         placed=kind != 'mapping')
    except AssertionError as e:
        return 'escaped: %s' % str(e)[:200], seconds, size
    return 'refused', seconds, size


def as_file(source, directory):
    path = os.path.join(directory, 'plan.yaml')
    value = source
    with open(path, 'wb') as f:
        f.write(value if isinstance(value, bytes)
                else value.encode('utf-8', 'surrogatepass'))
    return path


# -- one case in this process (run by the parent in a fresh process) ---

def _validate(path):
    from geoflows.cmd import main
    out = io.StringIO()
    stdout, sys.stdout = sys.stdout, out
    try:
        return main.main(['plan', 'validate', path]), out
    finally:
        sys.stdout = stdout


def measure_file(path):
    """``geoflows plan validate path`` in this process, warmed up.

    A first run on a plan of a few lines imports what the command needs
    (about 1.4 s and 105 MiB, whatever the plan): the time is that of the
    second run, the peak RSS that of the whole process.
    """
    import logging
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        warm = os.path.join(tmp, 'warm.yaml')
        with open(warm, 'w') as f:
            f.write(baseline(0))
        _validate(warm)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    rc, out = _validate(path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    lines = out.getvalue().splitlines()
    return {'bytes': os.path.getsize(path), 'rc': rc, 'seconds': wall,
            'cpu': cpu, 'lines': len(lines), 'last': lines[-1][-120:] if
            lines else '',
            'rss_mib': resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            'rss_before_mib': before / 1024.0}


def in_fresh_process(path):
    done = subprocess.run(
        [sys.executable, '-m', 'tests.unit.plan.fuzz_figures', '--measure',
         path], capture_output=True, timeout=600, text=True,
        cwd=fuzz.REPO)
    if done.returncode != 0:
        return {'error': done.stderr[-500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(name, record):
    if 'error' in record:
        return '%-24s ERROR %s' % (name, record['error'])
    return ('%-24s %9d  %6.3f s  %6.3f s  %7.1f MiB  rc %d  %6d lines  %s'
            % (name, record['bytes'], record['seconds'], record['cpu'],
               record['rss_mib'], record['rc'], record['lines'],
               record['last'][:60]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--examples', type=int, default=2000)
    parser.add_argument('--size', type=int, default=MIB)
    parser.add_argument('--measure', metavar='FILE', help=argparse.SUPPRESS)
    parser.add_argument('--keep', metavar='DIR',
                        help='write the 1 MiB cases into DIR')
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure_file(args.measure)))
        return 0
    failed = False
    if args.examples:
        outcomes = collections.Counter()
        escaped = []
        slowest = largest = (0, 0, -1)
        started = time.perf_counter()
        for seed in range(args.examples):
            outcome, seconds, size = run_example(seed)
            outcomes[outcome.split(':')[0]] += 1
            if outcome.startswith('escaped'):
                escaped.append((seed, outcome))
            slowest = max(slowest, (seconds, size, seed))
            largest = max(largest, (size, seconds, seed),
                          key=lambda t: t[0])
        print('%d examples in %.1f s: %s' % (
            args.examples, time.perf_counter() - started,
            ', '.join('%d %s' % (n, o) for o, n in sorted(outcomes.items()))))
        for seed, outcome in escaped[:20]:
            print('  seed %d %s' % (seed, outcome))
        failed |= bool(escaped)
        print('peak RSS of this process: %.1f MiB' % (resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024.0))
        with tempfile.TemporaryDirectory() as tmp:
            for what, seed in (('slowest', slowest[2]),
                               ('largest', largest[2])):
                kind, _value, source = example(seed)
                record = in_fresh_process(as_file(source, tmp))
                print('%s: seed %d (%s), %.3f s in this process; '
                      'in a fresh process:' % (what, seed, kind,
                                               slowest[0] if what ==
                                               'slowest' else largest[1]))
                print('  ' + _row(what, record))
    print('\n%-24s %9s  %8s  %8s  %11s  (peak RSS after the warm-up run: '
          'about 105 MiB)' % ('case', 'bytes', 'wall', 'cpu', 'peak RSS'))
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or tmp
        os.makedirs(directory, exist_ok=True)
        for name, family in FAMILIES.items():
            value = family(args.size)
            path = os.path.join(directory, '%s.yaml' % name)
            with open(path, 'wb') as f:
                f.write(value if isinstance(value, bytes)
                        else value.encode('utf-8', 'surrogatepass'))
            record = in_fresh_process(path)
            print(_row(name, record))
            # CPU time: the wall time also counts what else the machine
            # runs (both are printed).
            failed |= 'error' in record or (
                record['cpu'] >= LIMIT_SECONDS or
                record['rss_mib'] >= LIMIT_MIB)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
