"""The WSGI application of one OpenStack API, for gunicorn.

The APIs parse ``sys.argv`` with oslo.config at import time; under gunicorn
it holds gunicorn's own arguments, which they reject.  This module gives
them the arguments the minicloud chose (GEOFLOWS_MC_ARGV, one per line) and
exposes the application named by GEOFLOWS_MC_APP (``module:attribute``).
"""

import importlib
import os
import sys

sys.argv = [sys.argv[0]] + [
    arg for arg in os.environ.get('GEOFLOWS_MC_ARGV', '').split('\n') if arg]
_module, _attribute = os.environ['GEOFLOWS_MC_APP'].split(':')
application = getattr(importlib.import_module(_module), _attribute)
