"""Entry point of the ``geoflows`` command."""

import logging
import sys

from cliff import app
from cliff import commandmanager

from geoflows import conf
from geoflows import secrets
from geoflows import version


class GeoflowsApp(app.App):

    def __init__(self):
        super().__init__(
            description='geoflows: interconnect OpenStack sites, replicate '
                        'to a DR site, take over and give back, as '
                        'resumable and reversible jobs.',
            version=version.version_string(),
            command_manager=commandmanager.CommandManager('geoflows.cli'),
            deferred_help=True)
        self._runner = None

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

    def clean_up(self, cmd, result, err):
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def adopt_runner(self, runner):
        """Use ``runner`` (built by a command) and close it at the end."""
        self._runner = runner

    @property
    def runner(self):
        """The job runner, built from the configuration on first use."""
        if self._runner is None:
            from geoflows import runner
            self._runner = runner.Runner.from_config(conf.CONF)
        return self._runner


def main(argv=None):
    return GeoflowsApp().run(sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
