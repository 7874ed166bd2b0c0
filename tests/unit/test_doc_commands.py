"""Every ``openstack`` command the docs and workbooks name exists.

The names are checked against the commands the installed clients register
(python-openstackclient and its plugins, python-mistralclient among them),
so that a guide cannot tell an operator to run a command that is not there.
The functional tests run the Mistral guide's commands for real.
"""

import glob
import importlib.metadata
import os
import re

import testtools

from tests import guide

# "openstack" then lower-case words: a command, possibly followed by its
# arguments (which end the match at the first non-word).
_COMMAND = re.compile(r'(?:^|[\s`"\'(])openstack((?: [a-z][a-z0-9-]*)+)')


def documents():
    patterns = ['README.md', 'doc/source/**/*.rst', 'doc/source/**/*.sh',
                'workbooks/*.yaml', 'workbooks/*.md']
    for pattern in patterns:
        yield from sorted(glob.glob(os.path.join(guide.REPO, pattern),
                                    recursive=True))


def mentions(path):
    """(line number, words after "openstack") of every mention."""
    with open(path) as f:
        for number, line in enumerate(f, 1):
            for match in _COMMAND.finditer(line):
                yield number, match.group(1).split()


def client_commands():
    names = set()
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group.startswith('openstack.') and \
                    ep.group != 'openstack.cli.extension':
                names.add(tuple(ep.name.split('_')))
    return names


def known(words, commands):
    """A command with its arguments, or a group ("workflow execution")."""
    for i in range(1, len(words) + 1):
        if tuple(words[:i]) in commands:
            return True
    return any(command[:len(words)] == tuple(words) for command in commands)


class TestDocCommands(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.commands = client_commands()
        if ('workbook', 'create') not in self.commands:
            self.skipTest('python-openstackclient with the Mistral plugin is '
                          'not installed')

    def test_every_openstack_command_of_the_docs_exists(self):
        wrong = []
        seen = 0
        for path in documents():
            for number, words in mentions(path):
                seen += 1
                if not known(words, self.commands):
                    wrong.append('%s:%d: openstack %s' % (
                        os.path.relpath(path, guide.REPO), number,
                        ' '.join(words)))
        self.assertEqual([], wrong, 'not commands of the openstack client')
        # The Mistral guide alone names a dozen.
        self.assertGreater(seen, 12)

    def test_the_check_catches_a_wrong_name(self):
        self.assertFalse(known(['workflow', 'workbook', 'create'],
                               self.commands))
        self.assertFalse(known(['workflow', 'action', 'execution', 'update'],
                               self.commands))
        self.assertTrue(known(['workbook', 'create'], self.commands))
        self.assertTrue(known(['workflow', 'execution'], self.commands))

    def test_the_guide_shows_every_section_of_its_commands_file(self):
        with open(os.path.join(guide.REPO, 'doc', 'source', 'admin',
                               'mistral.rst')) as f:
            text = f.read()
        shown = set(re.findall(r':start-after: # \[([a-z0-9-]+)\]', text))
        self.assertEqual(set(guide.sections()), shown)
