"""Virtual environments for the services that minicloud runs.

The services run from their own venv, never from geoflows' one: their pinned
dependencies (an older SQLAlchemy, eventlet, ...) must not leak into the
project.  A venv is built once per constraints file and reused; its directory
name carries the digest of that file, so editing the pins builds a new one.
"""

import hashlib
import logging
import os
import shutil
import subprocess
import sys

LOG = logging.getLogger(__name__)

_COMPLETE = '.geoflows-complete'


class VenvError(Exception):
    """A service venv could not be built."""


def constraints_digest(constraints_file):
    with open(constraints_file, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def ensure_venv(root, name, constraints_file, packages, python=None,
                log_file=None):
    """Return the path of a venv holding ``packages``, building it if needed.

    :param root: directory that holds the venvs.
    :param name: short name of the venv (``neutron``).
    :param constraints_file: pip constraints that pin every package.
    :param packages: the distributions to install.
    """
    path = os.path.join(root, '%s-%s' % (name, constraints_digest(
        constraints_file)))
    if os.path.exists(os.path.join(path, _COMPLETE)):
        return path
    if os.path.exists(path):
        # A build that was interrupted: start again from scratch.
        shutil.rmtree(path)
    os.makedirs(root, exist_ok=True)
    log_file = log_file or os.path.join(root, '%s-install.log' % name)
    LOG.info('building the %s venv in %s (log: %s)', name, path, log_file)
    python = python or sys.executable
    with open(log_file, 'w') as log:
        steps = [
            [python, '-m', 'venv', path],
            [os.path.join(path, 'bin', 'python'), '-m', 'pip', 'install',
             '--quiet', '--disable-pip-version-check',
             '-c', constraints_file] + list(packages),
        ]
        for step in steps:
            rc = subprocess.call(step, stdout=log, stderr=subprocess.STDOUT)
            if rc != 0:
                raise VenvError(
                    'building the %s venv failed (%s exited %d); see %s. '
                    'pip needs network access to PyPI, and gcc with the '
                    'Python headers to build the "ovs" package.'
                    % (name, ' '.join(step[:4]), rc, log_file))
    open(os.path.join(path, _COMPLETE), 'w').close()
    return path
