"""Entry point of the ``geoflows`` command.

An operator runs many short commands in an incident, so the command starts
with little: it reads the names of its commands from their entry points
without importing them, and imports a command's module only to run it or
to show its description; the command modules import Taskflow,
openstacksdk, SQLAlchemy and the rest only where they use them (see
geoflows.cmd.common); ``job list`` and ``job show`` read the state store
without a runner (geoflows.queries).  ``tests/unit/cmd/test_main.py``
checks what each command imports; ``geoflows bench --cli`` times them.
"""

import atexit
import gc
import importlib.metadata
import inspect
import logging
import sys
import traceback

import autopage.argparse
from cliff import app
from cliff import commandmanager
from cliff import help as cliff_help

from geoflows import secrets
from geoflows import version

LOG = logging.getLogger(__name__)


class CommandManager(commandmanager.CommandManager):
    """cliff's command manager, without an import of every command.

    cliff's own imports the module of each entry point of the namespace as
    it starts (through stevedore), which imported all of geoflows before
    any command ran.  This one only reads the entry points; cliff imports
    a command's module when it looks the command up to run it.
    """

    def load_commands(self, namespace):
        self.group_list.append(namespace)
        for entry_point in importlib.metadata.entry_points(group=namespace):
            if self._is_module_ignored(entry_point.module,
                                       self.ignored_modules):
                continue
            name = (entry_point.name.replace('_', ' ')
                    if self.convert_underscores else entry_point.name)
            if name in self.commands:
                LOG.warning('command %r is defined twice, by %s and %s; '
                            'the second is used', name,
                            self.commands[name].value, entry_point.value)
            self.commands[name] = entry_point


class _Distributions(object):
    """Which installed distribution provides an object's package.

    cliff's help asks importlib.metadata.packages_distributions(), which
    reads the file list of every installed distribution (50 to 90 ms
    here).  This looks for a distribution of the package's name first,
    which finds geoflows and cliff at once, and scans only for the others.
    """

    def __init__(self):
        self._found = {}
        self._all = None

    def of(self, obj):
        module = inspect.getmodule(obj)
        top = module.__name__.partition('.')[0]
        if top not in self._found:
            try:
                dist = importlib.metadata.distribution(top)
                provides = (dist.read_text('top_level.txt') or top).split()
                self._found[top] = dist.name if top in provides else None
            except importlib.metadata.PackageNotFoundError:
                self._found[top] = None
            if self._found[top] is None:
                if self._all is None:
                    self._all = importlib.metadata.packages_distributions()
                self._found[top] = (self._all.get(top) or [None])[0]
        return self._found[top]


class GeoflowsApp(app.App):

    def __init__(self):
        super().__init__(
            description='geoflows: interconnect OpenStack sites, replicate '
                        'to a DR site, take over and give back, as '
                        'resumable and reversible jobs.',
            version=version.version_string(),
            command_manager=CommandManager('geoflows.cli'),
            deferred_help=True)
        self._runner = None
        self._records = None
        self._queries = None

    def build_option_parser(self, description, version,
                            argparse_kwargs=None):
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
        parser.add_argument(
            '--config-file', action='append', metavar='PATH',
            help='geoflows configuration file (repeatable; default: '
                 '/etc/geoflows/geoflows.conf if it exists).')
        return parser

    def configure_logging(self):
        super().configure_logging()
        secrets.install_log_masking()
        # One notch quieter than cliff's default: steps are shown by the
        # progress display; -v shows geoflows' INFO messages.
        level = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO}.get(
            self.options.verbose_level, logging.DEBUG)
        for handler in logging.getLogger('').handlers:
            handler.addFilter(secrets.MaskingFilter())
            if isinstance(handler, logging.StreamHandler) and \
                    not isinstance(handler, logging.FileHandler):
                handler.setLevel(level)
        if not self.options.debug:
            # geoflows reports every failure itself, clearly; Taskflow's
            # engine would add a traceback for each.
            logging.getLogger('taskflow').setLevel(logging.CRITICAL)
            for name in ('keystoneauth', 'openstack', 'stevedore'):
                logging.getLogger(name).setLevel(logging.WARNING)

    def initialize_app(self, argv):
        from geoflows import conf

        conf.load(self.options.config_file)
        if conf.CONF.log_file:
            handler = logging.FileHandler(conf.CONF.log_file)
            handler.setFormatter(logging.Formatter(
                '%(asctime)s %(process)d %(levelname)s %(name)s '
                '%(message)s'))
            handler.addFilter(secrets.MaskingFilter())
            handler.setLevel(logging.DEBUG if self.options.debug
                             else logging.INFO)
            logging.getLogger('').addHandler(handler)
            logging.getLogger('').setLevel(logging.DEBUG)

    def print_help_if_requested(self):
        if self.deferred_help and self.options.deferred_help:
            self.print_commands()

    def run_subcommand(self, argv):
        if argv == ['help']:  # the same as --help
            try:
                self.print_commands()
            except cliff_help.HelpExit:
                pass
            return 0
        return super().run_subcommand(argv)

    def print_commands(self):
        """Print the usage and every command: what cliff's --help prints.

        cliff's own help finds the distribution of each command by reading
        the file list of every installed distribution; this one asks for
        the few distributions it needs (:class:`_Distributions`).  Raises
        cliff's HelpExit, as cliff's does.
        """
        dists = _Distributions()
        pager = autopage.argparse.help_pager(self.stdout)
        color = pager.to_terminal()
        autopage.argparse.use_color_for_parser(self.parser, color)
        with pager as out:
            self.parser.print_help(out)
            underline = ('\033[4m', '\033[0m') if color else ('', '')
            out.write('\n%sCommands%s:\n' % underline)
            app_dist = dists.of(self)
            for name, entry_point in sorted(self.command_manager):
                try:
                    factory = entry_point.load()
                except Exception:
                    out.write('Could not load %r\n' % (entry_point,))
                    if self.options.debug:
                        traceback.print_exc(file=out)
                    continue
                try:
                    kwargs = {}
                    if 'cmd_name' in inspect.getfullargspec(
                            factory.__init__).args:
                        kwargs['cmd_name'] = name
                    cmd = factory(self, None, **kwargs)
                    if cmd.deprecated:
                        continue
                except Exception as e:
                    out.write('Could not instantiate %r: %s\n'
                              % (entry_point, e))
                    if self.options.debug:
                        traceback.print_exc(file=out)
                    continue
                summary = cmd.get_description().split('\n')[0].rstrip('.')
                dist = dists.of(factory)
                provider = ''
                if dist and dist != app_dist:
                    provider = ' (%s)' % dist
                    if color:
                        provider = '\033[90m%s\033[39m' % provider
                shown = '%-13s' % name
                if color:
                    shown = '\033[36m%s\033[39m' % shown
                out.write('  %s  %s%s\n' % (shown, summary, provider))
        raise cliff_help.HelpExit()

    def clean_up(self, cmd, result, err):
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        if self._records is not None:
            self._records.close()
            self._records = self._queries = None

    def adopt_runner(self, runner):
        """Use ``runner`` (built by a command) and close it at the end."""
        self._runner = runner

    @property
    def runner(self):
        """The job runner, built from the configuration on first use."""
        if self._runner is None:
            from geoflows import conf
            from geoflows import runner
            self._runner = runner.Runner.from_config(conf.CONF)
        return self._runner

    @property
    def job_queries(self):
        """Job queries (get, list, steps) for commands that only read.

        The runner's if a command built one, else a reader of the state
        store that needs no runner (see geoflows.queries).
        """
        if self._runner is not None:
            return self._runner
        if self._queries is None:
            from geoflows import conf
            from geoflows import queries
            self._queries, self._records = queries.from_config(conf.CONF)
        return self._queries


def main(argv=None):
    """Run the geoflows command with ``argv`` (default: the process's)."""
    if argv is None:
        # The command is the whole process.  At its exit Python would have
        # the cyclic collector examine every object still alive (30 to 40
        # ms here for plan validate); frozen, they are left to the end of
        # the process.  Exit handlers still run and the standard streams
        # are still flushed; what geoflows writes is committed by then
        # (and safe from a SIGKILL anyway).
        atexit.register(gc.freeze)
        argv = sys.argv[1:]
    return GeoflowsApp().run(argv)


if __name__ == '__main__':
    sys.exit(main())
