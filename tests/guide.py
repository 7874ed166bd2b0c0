"""The client commands of the guides, as the docs show them.

``doc/source/admin/mistral-commands.sh`` holds the Mistral guide's commands
in sections (``# [name]`` up to the next one, the last up to ``# [end]``,
so that the guide can include each one by its markers); the unit tests
check that every ``openstack`` command the docs name exists, and the
functional tests run them against a real Mistral.
"""

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MISTRAL_COMMANDS = os.path.join(REPO, 'doc', 'source', 'admin',
                                'mistral-commands.sh')

_SECTION = re.compile(r'^# \[([a-z0-9-]+)\]$')


def sections(path=MISTRAL_COMMANDS):
    """{name: text} of the sections of a commands file, in file order."""
    found = {}
    name = None
    with open(path) as f:
        for line in f:
            match = _SECTION.match(line.rstrip('\n'))
            if match and match.group(1) == 'end':
                break
            if match:
                name = match.group(1)
                found[name] = ''
            elif name is not None:
                found[name] += line
    return found
