"""geoflows-minicloud: disposable OpenStack sites on 127.0.0.1.

  geoflows-minicloud install        build the service venv (cached)
  geoflows-minicloud up             start fresh sites, write clouds.yaml
  geoflows-minicloud status         what runs where
  geoflows-minicloud down           stop every site
  geoflows-minicloud run -- CMD     up, run CMD with OS_CLIENT_CONFIG_FILE set,
                                    down; exits with CMD's status
"""

import argparse
import json
import os
import subprocess
import sys
import time

from geoflows.testing.minicloud import cloud
from geoflows.testing.minicloud import process
from geoflows.testing.minicloud import venv


def _print_status(rows, fmt):
    if fmt == 'json':
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print('no site is configured; run "geoflows-minicloud up"')
        return
    for row in rows:
        print('%-8s %-8s %-8s %-26s pid=%-7s rss=%s MiB' % (
            row['name'], row['service'], row['state'], row['url'],
            row['pid'] or '-', row['rss_mib'] or '-'))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='geoflows-minicloud',
        description='Disposable OpenStack sites on 127.0.0.1 for tests, '
                    'demos and DR rehearsals.')
    parser.add_argument('--home', help='where venvs, site data and '
                        'clouds.yaml live (default: $GEOFLOWS_MINICLOUD_HOME '
                        'or ~/.cache/geoflows/minicloud)')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('install', help='build the service venv')
    up = sub.add_parser('up', help='start fresh sites')
    up.add_argument('--sites', default=','.join(cloud.DEFAULT_SITES),
                    help='comma-separated site names (default: %(default)s)')
    status = sub.add_parser('status', help='what runs where')
    status.add_argument('-f', '--format', choices=('table', 'json'),
                        default='table')
    sub.add_parser('down', help='stop every site')
    sub.add_parser('clouds', help='print the path of the clouds.yaml')
    run = sub.add_parser('run', help='up, run a command, down')
    run.add_argument('--sites', default=','.join(cloud.DEFAULT_SITES))
    run.add_argument('cmd', nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    mc = cloud.Minicloud(args.home)
    try:
        if args.command == 'install':
            print(mc.install())
        elif args.command == 'up':
            started = time.monotonic()
            mc.up(args.sites.split(','))
            _print_status(mc.status(), 'table')
            print('sites up in %.1fs; clouds.yaml: %s'
                  % (time.monotonic() - started, mc.clouds_yaml))
            print('use it with: export OS_CLIENT_CONFIG_FILE=%s'
                  % mc.clouds_yaml)
        elif args.command == 'status':
            _print_status(mc.status(), args.format)
        elif args.command == 'down':
            stopped = mc.down()
            print('stopped: %s' % (', '.join(stopped) or 'nothing'))
        elif args.command == 'clouds':
            print(mc.clouds_yaml)
        elif args.command == 'run':
            cmd = args.cmd[1:] if args.cmd[:1] == ['--'] else args.cmd
            if not cmd:
                parser.error('run needs a command after --')
            mc.up(args.sites.split(','))
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
