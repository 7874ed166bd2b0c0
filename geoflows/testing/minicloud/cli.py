"""geoflows-minicloud: two disposable OpenStack regions on 127.0.0.1.

  geoflows-minicloud install        build the services' venv (cached)
  geoflows-minicloud up             start both regions afresh, write
                                    clouds.yaml
  geoflows-minicloud status         what runs where
  geoflows-minicloud smoke          exercise both regions, leave them clean
  geoflows-minicloud sample         deploy the sample VNFs at site-a (the
                                    protection group "core" of
                                    etc/plans/minicloud.yaml); --remove
  geoflows-minicloud down           stop everything, drop its databases
  geoflows-minicloud run -- CMD     up, run CMD with OS_CLIENT_CONFIG_FILE
                                    set, down; exits with CMD's status
"""

import argparse
import json
import os
import subprocess
import sys
import time

from geoflows.testing.minicloud import cloud
from geoflows.testing.minicloud import process
from geoflows.testing.minicloud import smoke
from geoflows.testing.minicloud import venv


def _print_status(mc, rows, fmt):
    if fmt == 'json':
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print('nothing runs; start it with "geoflows-minicloud up"')
        return
    for row in rows:
        print('%-10s %-17s %-8s %-24s pid=%-7s rss=%s MiB' % (
            row['name'], row['service'], row['state'], row['url'],
            row['pid'] or '-', row['rss_mib'] or '-'))
    print('total PSS (services and their PostgreSQL backends): %d MiB'
          % mc.pss_mib())
    print('clouds.yaml: %s' % mc.clouds_yaml)


def _say(text):
    print(text, flush=True)


def _sample(mc, cloud_name, remove):
    import openstack
    import openstack.config

    from geoflows.testing import sample
    config = openstack.config.OpenStackConfig(config_files=[mc.clouds_yaml])
    conn = openstack.connection.Connection(
        config=config.get_one(cloud=cloud_name))
    started = time.monotonic()
    if remove:
        sample.remove(conn)
        print('sample VNFs removed from %s in %.1fs' % (
            cloud_name, time.monotonic() - started))
        return
    ids = sample.deploy(conn)
    servers = [name for name, *_rest in sample.SERVERS]
    print('sample VNFs deployed at %s in %.1fs: servers %s, the chain edge'
          % (cloud_name, time.monotonic() - started, ', '.join(servers)))
    return ids


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='geoflows-minicloud',
        description='Two disposable OpenStack regions on 127.0.0.1 for '
                    'tests, demos and DR rehearsals.')
    parser.add_argument('--home', help='where the venv, the regions\' data '
                        'and logs, and clouds.yaml live (default: '
                        '$GEOFLOWS_MINICLOUD_HOME or '
                        '~/.cache/geoflows/minicloud)')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('install', help='build the services\' venv')
    sub.add_parser('up', help='start both regions afresh')
    status = sub.add_parser('status', help='what runs where')
    status.add_argument('-f', '--format', choices=('table', 'json'),
                        default='table')
    sub.add_parser('smoke', help='exercise both regions, then clean up')
    sample = sub.add_parser('sample', help='deploy the sample VNFs (the '
                            'protection group "core" of the minicloud '
                            'plan), or --remove them')
    sample.add_argument('--cloud', default='site-a',
                        help='cloud of clouds.yaml (default: site-a)')
    sample.add_argument('--remove', action='store_true',
                        help='delete what the sample made')
    sub.add_parser('down', help='stop everything, drop its databases')
    sub.add_parser('clouds', help='print the path of the clouds.yaml')
    run = sub.add_parser('run', help='up, run a command, down')
    run.add_argument('cmd', nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    mc = cloud.Minicloud(args.home)
    try:
        if args.command == 'install':
            print(mc.install())
        elif args.command == 'up':
            mc.up(report=_say)
            _print_status(mc, mc.status(), 'table')
            print('use it with: export OS_CLIENT_CONFIG_FILE=%s'
                  % mc.clouds_yaml)
        elif args.command == 'status':
            _print_status(mc, mc.status(), args.format)
        elif args.command == 'smoke':
            started = time.monotonic()
            timings = smoke.run(lambda region: mc.connect('admin', region),
                                mc)
            for region, steps in timings.items():
                for what, seconds in steps.items():
                    print('%-20s %-30s %6.2fs' % (region, what, seconds))
            print('smoke test passed in %.1fs; nothing left behind'
                  % (time.monotonic() - started))
        elif args.command == 'sample':
            _sample(mc, args.cloud, args.remove)
        elif args.command == 'down':
            started = time.monotonic()
            stopped = mc.down()
            print('stopped %d services in %.1fs' % (
                len(stopped), time.monotonic() - started))
        elif args.command == 'clouds':
            print(mc.clouds_yaml)
        elif args.command == 'run':
            cmd = args.cmd[1:] if args.cmd[:1] == ['--'] else args.cmd
            if not cmd:
                parser.error('run needs a command after --')
            mc.up(report=_say)
            try:
                env = dict(os.environ, OS_CLIENT_CONFIG_FILE=mc.clouds_yaml,
                           GEOFLOWS_MINICLOUD_HOME=mc.home)
                return subprocess.call(cmd, env=env)
            finally:
                mc.down()
    except (process.ServiceError, venv.VenvError) as e:
        print('geoflows-minicloud: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
