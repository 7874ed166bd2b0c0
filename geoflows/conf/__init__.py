"""geoflows configuration (oslo.config).

geoflows keeps its options on its own :class:`oslo_config.cfg.ConfigOpts`
instance, ``CONF``, not on oslo's global one: the library also runs inside
other OpenStack services (a Mistral executor, a MANO) whose global
configuration it must not touch.

Options may come from configuration files (``--config-file``), or from the
environment as ``OS_<GROUP>__<OPTION>`` (e.g. ``OS_STATE__CONNECTION``).
"""

import os

from oslo_config import cfg

from geoflows.conf import opts

CONF = cfg.ConfigOpts()
opts.register(CONF)

DEFAULT_CONFIG_FILE = '/etc/geoflows/geoflows.conf'
#: names the configuration file where no command line can (the Mistral
#: executor that runs geoflows' actions)
CONFIG_FILE_ENV = 'GEOFLOWS_CONFIG_FILE'


def load(config_files=None, args=None):
    """(Re)load ``CONF`` from ``config_files``.

    With no files given, the file named by $GEOFLOWS_CONFIG_FILE is read,
    else /etc/geoflows/geoflows.conf if it exists.
    """
    if config_files is None and os.environ.get(CONFIG_FILE_ENV):
        config_files = [os.environ[CONFIG_FILE_ENV]]
    if config_files is None:
        config_files = ([DEFAULT_CONFIG_FILE]
                        if os.path.exists(DEFAULT_CONFIG_FILE) else [])
    for path in config_files:
        if not os.path.exists(path):
            from geoflows import exceptions
            raise exceptions.ConfigError(
                'configuration file %s does not exist' % path)
    CONF.reset()
    CONF(args=list(args or []), project='geoflows',
         default_config_files=list(config_files),
         default_config_dirs=[])
    return CONF


def state_dir():
    return os.path.expanduser(CONF.state_dir)
