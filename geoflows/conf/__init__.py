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
    from geoflows import exceptions
    from geoflows import text
    for path in config_files:
        if not os.path.exists(path):
            raise exceptions.ConfigError(
                'configuration file %s does not exist' % text.escape(path))
    CONF.reset()
    try:
        CONF(args=list(args or []), project='geoflows',
             default_config_files=list(config_files),
             default_config_dirs=[])
    except UnicodeDecodeError:
        raise exceptions.ConfigError(_not_utf8(config_files))
    except cfg.Error as e:
        raise exceptions.ConfigError('configuration: %s' % text.escape(
            str(e))[:500])
    check(CONF)
    return CONF


def _not_utf8(config_files):
    """Which configuration file is not UTF-8, and where."""
    from geoflows import text
    for path in config_files:
        try:
            with open(path, 'rb') as f:
                data = f.read()
            data.decode('utf-8')
        except UnicodeDecodeError as e:
            line = data.count(b'\n', 0, e.start) + 1
            column = e.start - (data.rfind(b'\n', 0, e.start) + 1) + 1
            return ('configuration file %s:%d:%d: not UTF-8 text (byte '
                    '0x%02x)' % (text.escape(path), line, column,
                                 data[e.start]))
        except OSError:
            continue
    return 'a configuration file is not UTF-8 text'


def check(conf):
    """Read every geoflows option once, so that a bad value is reported now.

    oslo.config converts a value when it is first read: without this, a
    wrong value would fail later, wherever geoflows reads it first (in a
    job's step, a Mistral action), and not as a ConfigError.
    """
    from geoflows import exceptions
    from geoflows import text
    for group, options in opts.GROUPS:
        section = conf if group is None else getattr(conf, group)
        for opt in options:
            try:
                getattr(section, opt.dest)
            except (cfg.Error, ValueError) as e:
                why = ('its value is not valid' if opt.secret else
                       text.escape(str(e))[:500])
                raise exceptions.ConfigError('configuration: [%s] %s: %s' % (
                    group or 'DEFAULT', opt.name, why))


def state_dir():
    return os.path.expanduser(CONF.state_dir)
