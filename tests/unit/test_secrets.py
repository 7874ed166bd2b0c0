"""Tests of secret masking and of secret sources.

Registration is process-global, so every test uses its own random values.
"""

import base64
import hashlib
import hmac
import io
import json
import logging
import os
import stat
import sys
import uuid

import fixtures

from geoflows import exceptions
from geoflows import secrets
from tests.unit import base


def new_secret(prefix='s'):
    """A value no other test uses."""
    return '%s-%s' % (prefix, uuid.uuid4().hex)


def write_file(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return path


class TestMask(base.TestCase):

    def test_registered_value_is_masked(self):
        value = new_secret()
        secrets.register(value)

        self.assertEqual('psk is *** here', secrets.mask(
            'psk is %s here' % value))

    def test_every_occurrence_is_masked(self):
        value = new_secret()
        secrets.register(value)

        self.assertEqual('*** and ***', secrets.mask(
            '%s and %s' % (value, value)))

    def test_json_escaped_form_is_masked(self):
        value = 'q"uote\\back-' + uuid.uuid4().hex
        secrets.register(value)

        text = json.dumps({'psk_id': value})

        self.assertEqual('{"psk_id": "***"}', secrets.mask(text))

    def test_json_escaped_non_ascii_value_is_masked(self):
        value = 'cl\u00e9-' + uuid.uuid4().hex
        secrets.register(value)

        self.assertEqual('["***"]', secrets.mask(json.dumps([value])))

    def test_secret_containing_another_is_masked_whole(self):
        inner = new_secret()
        outer = inner + '-tail'
        secrets.register(inner)
        secrets.register(outer)

        self.assertEqual('key ***', secrets.mask('key %s' % outer))

    def test_values_shorter_than_four_characters_are_not_registered(self):
        short = uuid.uuid4().hex[:3]
        secrets.register(short)

        self.assertEqual('id %s' % short, secrets.mask('id %s' % short))

    def test_empty_values_are_ignored(self):
        secrets.register('')
        secrets.register(None)

        self.assertEqual('nothing to hide', secrets.mask('nothing to hide'))

    def test_empty_text_is_returned_as_is(self):
        self.assertIsNone(secrets.mask(None))
        self.assertEqual('', secrets.mask(''))

    def test_non_string_is_converted_and_masked(self):
        value = new_secret()
        secrets.register(value)

        self.assertEqual('bad key ***',
                         secrets.mask(ValueError('bad key %s' % value)))

    def test_unregistered_json_psk_value_is_masked(self):
        self.assertEqual('{"psk": "***", "mtu": 1500}',
                         secrets.mask('{"psk": "unknown", "mtu": 1500}'))

    def test_unregistered_quoted_password_value_is_masked(self):
        self.assertEqual("{'Password': '***'}",
                         secrets.mask("{'Password': 'unknown'}"))

    def test_unregistered_json_secret_value_is_masked(self):
        self.assertEqual('{"secret":"***"}',
                         secrets.mask('{"secret":"unknown"}'))

    def test_unregistered_psk_assignment_is_masked(self):
        self.assertEqual('psk=***&mtu=1500',
                         secrets.mask('psk=unknown&mtu=1500'))

    def test_unregistered_password_assignment_is_masked(self):
        self.assertEqual('login PASSWORD=*** user=admin',
                         secrets.mask('login PASSWORD=unknown user=admin'))

    def test_text_without_secrets_is_unchanged(self):
        text = '{"name": "vpn", "peer_address": "192.0.2.1"}'

        self.assertEqual(text, secrets.mask(text))


class TestLogMasking(base.TestCase):

    def setUp(self):
        super().setUp()
        self.output = io.StringIO()
        self.logger = self.make_logger()

    def make_logger(self):
        """A new logger of no particular package writing to self.output."""
        logger = logging.getLogger('test-secrets.%s' % uuid.uuid4().hex)
        handler = logging.StreamHandler(self.output)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        self.addCleanup(logger.removeHandler, handler)
        return logger

    def test_message_arguments_are_masked_in_any_logger(self):
        value = new_secret()
        secrets.register(value)

        self.logger.info('connecting with key %s', value)

        self.assertEqual('connecting with key ***\n', self.output.getvalue())

    def test_message_text_is_masked(self):
        value = new_secret()
        secrets.register(value)

        self.logger.warning('REQ: curl -d {"key": "%s"}' % value)

        self.assertEqual('REQ: curl -d {"key": "***"}\n',
                         self.output.getvalue())

    def test_exception_text_is_masked(self):
        value = new_secret()
        secrets.register(value)

        try:
            raise RuntimeError('peer refused %s' % value)
        except RuntimeError:
            self.logger.exception('step failed')

        output = self.output.getvalue()
        self.assertNotIn(value, output)
        self.assertIn('RuntimeError: peer refused ***', output)

    def test_install_log_masking_twice_keeps_one_factory(self):
        secrets.install_log_masking()
        factory = logging.getLogRecordFactory()

        secrets.install_log_masking()

        self.assertIs(factory, logging.getLogRecordFactory())


class TestMaskingFilter(base.TestCase):

    def record(self, msg, args=(), exc_info=None):
        """A record built directly, as before geoflows was imported."""
        return logging.LogRecord('host.app', logging.INFO, __file__, 1, msg,
                                 args, exc_info)

    def test_filter_masks_message_of_an_earlier_record(self):
        value = new_secret()
        record = self.record('key %s', (value,))
        secrets.register(value)

        kept = secrets.MaskingFilter().filter(record)

        self.assertTrue(kept)
        self.assertEqual('key ***', record.getMessage())

    def test_filter_masks_exception_text(self):
        value = new_secret()
        try:
            raise ValueError('bad %s' % value)
        except ValueError:
            record = self.record('failed', exc_info=sys.exc_info())
        secrets.register(value)

        secrets.MaskingFilter().filter(record)

        self.assertIn('ValueError: bad ***', record.exc_text)
        self.assertNotIn(value, logging.Formatter().format(record))

    def test_filter_masks_stack_info(self):
        value = new_secret()
        record = self.record('failed')
        record.stack_info = 'Stack (most recent call last):\n  %s' % value
        secrets.register(value)

        secrets.MaskingFilter().filter(record)

        self.assertEqual('Stack (most recent call last):\n  ***',
                         record.stack_info)

    def test_filter_keeps_a_record_with_a_broken_format(self):
        record = self.record('%s and %s', ('only one',))

        self.assertTrue(secrets.MaskingFilter().filter(record))
        self.assertEqual('%s and %s', record.msg)


class TestSecretResolver(base.TestCase):

    def setUp(self):
        super().setUp()
        self.key_file = os.path.join(self.tmp, 'keys', 'master.key')
        self.resolver = secrets.SecretResolver(self.key_file)

    def set_env(self, name, value):
        self.useFixture(fixtures.EnvironmentVariable(name, value))

    def resolve(self, source, purpose='psk/plan/vpn'):
        return self.resolver.resolve(source, purpose)

    def key_file_in_place(self):
        """The master key path, its directory created."""
        os.makedirs(os.path.dirname(self.key_file), exist_ok=True)
        return self.key_file

    def test_env_source_gives_the_variable_value(self):
        value = new_secret()
        self.set_env('GEOFLOWS_TEST_PSK', value)

        self.assertEqual(value, self.resolve({'env': 'GEOFLOWS_TEST_PSK'}))

    def test_missing_env_variable_is_config_error_naming_it(self):
        self.set_env('GEOFLOWS_TEST_PSK', None)

        error = self.assertRaises(exceptions.ConfigError, self.resolve,
                                  {'env': 'GEOFLOWS_TEST_PSK'})

        self.assertIn('psk/plan/vpn', str(error))
        self.assertIn('environment variable GEOFLOWS_TEST_PSK', str(error))
        self.assertIn('not set', str(error))

    def test_empty_env_variable_is_config_error(self):
        self.set_env('GEOFLOWS_TEST_PSK', '')

        self.assertRaises(exceptions.ConfigError, self.resolve,
                          {'env': 'GEOFLOWS_TEST_PSK'})

    def test_env_error_contains_no_value(self):
        other = new_secret()
        self.set_env('GEOFLOWS_TEST_OTHER', other)
        self.set_env('GEOFLOWS_TEST_PSK', None)

        error = self.assertRaises(exceptions.ConfigError, self.resolve,
                                  {'env': 'GEOFLOWS_TEST_PSK'})

        self.assertNotIn(other, str(error))

    def test_errors_name_what_the_secret_is_for(self):
        self.set_env('GEOFLOWS_TEST_TOKEN', None)
        missing = os.path.join(self.tmp, 'missing')

        from_env = self.assertRaises(
            exceptions.ConfigError, self.resolver.resolve,
            {'env': 'GEOFLOWS_TEST_TOKEN'}, 'hook', what='webhook token')
        from_file = self.assertRaises(
            exceptions.ConfigError, self.resolver.resolve,
            {'file': missing}, 'hook', what='webhook token')

        self.assertIn('the webhook token comes from environment variable',
                      str(from_env))
        self.assertIn('cannot read the webhook token file %s' % missing,
                      str(from_file))
        self.assertNotIn('pre-shared', str(from_env) + str(from_file))

    def test_file_source_gives_the_stripped_first_line(self):
        value = new_secret()
        path = write_file(os.path.join(self.tmp, 'psk'),
                          '  %s  \nsecond line\n' % value)

        self.assertEqual(value, self.resolve({'file': path}))

    def test_file_source_expands_the_home_directory(self):
        value = new_secret()
        write_file(os.path.join(self.tmp, 'psk'), value)
        self.set_env('HOME', self.tmp)

        self.assertEqual(value, self.resolve({'file': '~/psk'}))

    def test_missing_file_is_config_error_naming_it(self):
        path = os.path.join(self.tmp, 'missing')

        error = self.assertRaises(exceptions.ConfigError, self.resolve,
                                  {'file': path})

        self.assertIn('cannot read the pre-shared key file %s' % path,
                      str(error))
        self.assertIn('No such file', str(error))

    def test_empty_file_is_config_error(self):
        path = write_file(os.path.join(self.tmp, 'psk'), '\n')

        error = self.assertRaises(exceptions.ConfigError, self.resolve,
                                  {'file': path})

        self.assertIn('%s is empty' % path, str(error))

    def test_derived_value_is_stable_for_the_same_purpose(self):
        first = self.resolve({'derive': True})

        again = secrets.SecretResolver(self.key_file).resolve(
            {'derive': True}, 'psk/plan/vpn')

        self.assertEqual(first, again)

    def test_derived_values_differ_by_purpose(self):
        self.assertNotEqual(self.resolve({'derive': True}, 'psk/plan/vpn'),
                            self.resolve({'derive': True}, 'psk/plan/sec'))

    def test_derived_values_differ_by_master_key(self):
        other = secrets.SecretResolver(os.path.join(self.tmp, 'other.key'))

        self.assertNotEqual(self.resolve({'derive': True}),
                            other.resolve({'derive': True}, 'psk/plan/vpn'))

    def test_derived_value_is_hmac_sha256_of_the_purpose(self):
        key = 'k' * 40
        write_file(self.key_file_in_place(), key + '\n')
        expected = base64.urlsafe_b64encode(hmac.new(
            key.encode(), b'geoflows/v1/psk/plan/vpn',
            hashlib.sha256).digest()).decode().rstrip('=')

        self.assertEqual(expected, self.resolve({'derive': True}))

    def test_master_key_is_created_with_mode_0600(self):
        self.resolver.master_key()

        mode = stat.S_IMODE(os.stat(self.key_file).st_mode)
        self.assertEqual(0o600, mode)

    def test_created_master_key_is_long_enough_and_kept(self):
        key = self.resolver.master_key()

        self.assertGreaterEqual(len(key), 32)
        self.assertEqual(key, secrets.SecretResolver(
            self.key_file).master_key())

    def test_short_master_key_is_config_error(self):
        write_file(self.key_file_in_place(), 'x' * 31 + '\n')

        error = self.assertRaises(exceptions.ConfigError, self.resolve,
                                  {'derive': True})

        self.assertIn('too short', str(error))
        self.assertIn(self.key_file, str(error))

    def test_unreadable_master_key_is_config_error(self):
        os.makedirs(self.key_file)

        error = self.assertRaises(exceptions.ConfigError,
                                  self.resolver.master_key)

        self.assertIn('the master key %s is not a regular file'
                      % self.key_file, str(error))

    def test_resolved_env_value_is_masked_afterwards(self):
        value = new_secret()
        self.set_env('GEOFLOWS_TEST_PSK', value)

        self.resolve({'env': 'GEOFLOWS_TEST_PSK'})

        self.assertEqual('psk ***', secrets.mask('psk %s' % value))

    def test_resolved_file_value_is_masked_afterwards(self):
        value = new_secret()
        path = write_file(os.path.join(self.tmp, 'psk'), value)

        self.resolve({'file': path})

        self.assertEqual('psk ***', secrets.mask('psk %s' % value))

    def test_derived_value_is_masked_afterwards(self):
        value = self.resolve({'derive': True}, new_secret('purpose'))

        self.assertEqual('psk ***', secrets.mask('psk %s' % value))

    def test_describe_env_source_names_the_variable_only(self):
        value = new_secret()
        self.set_env('GEOFLOWS_TEST_PSK', value)
        self.resolve({'env': 'GEOFLOWS_TEST_PSK'})

        description = secrets.describe({'env': 'GEOFLOWS_TEST_PSK'})

        self.assertEqual('environment variable GEOFLOWS_TEST_PSK',
                         description)

    def test_describe_file_source_names_the_file_only(self):
        path = write_file(os.path.join(self.tmp, 'psk'), new_secret())

        self.assertEqual('file %s' % path, secrets.describe({'file': path}))

    def test_describe_derived_source_names_no_key(self):
        self.resolve({'derive': True})

        self.assertEqual('derived from the master key',
                         secrets.describe({'derive': True}))


class TestMaskingPatterns(base.TestCase):

    def test_escaped_quotes_inside_a_json_value(self):
        self.assertEqual('{"psk": "***"}', secrets.mask('{"psk": "ab\\"cd"}'))

    def test_keys_ending_in_password_or_secret(self):
        masked = secrets.mask('admin_password=a1 OS_PASSWORD=b2 secret=c3 '
                              '"admin_password": "d4"')
        for value in ('a1', 'b2', 'c3', 'd4'):
            self.assertNotIn(value, masked)

    def test_mask_data_masks_strings_only(self):
        value = new_secret()
        secrets.register(value)
        self.assertEqual({'n': 12, 'l': ['x ***'], 'd': {'s': '***'}},
                         secrets.mask_data({'n': 12, 'l': ['x %s' % value],
                                            'd': {'s': value}}))


class TestShortSecrets(base.TestCase):

    def test_a_short_pre_shared_key_is_refused(self):
        self.useFixture(fixtures.EnvironmentVariable('GF_SHORT_PSK', 'abc'))
        resolver = secrets.SecretResolver(os.path.join(self.tmp, 'k'))
        error = self.assertRaises(exceptions.ConfigError, resolver.resolve,
                                  {'env': 'GF_SHORT_PSK'}, 'psk/p/i')
        self.assertIn('shorter than 8 characters', str(error))
        self.assertNotIn('abc', str(error).replace('characters', ''))


class TestHostileSecretFiles(base.TestCase):
    """Whatever a secret file holds: a ConfigError, never its content.

    The message names the file and what is wrong with it.
    """

    def setUp(self):
        super().setUp()
        self.resolver = secrets.SecretResolver(
            os.path.join(self.tmp, 'master.key'))

    def psk_error(self, content):
        path = os.path.join(self.tmp, 'psk-%s' % uuid.uuid4().hex)
        with open(path, 'wb') as f:
            f.write(content)
        error = self.assertRaises(exceptions.ConfigError,
                                  self.resolver.resolve, {'file': path},
                                  'psk/plan/ic')
        self.assertIn(path, str(error))
        return str(error)

    def test_not_utf8(self):
        message = self.psk_error(b'secret-\xff\xfe-value\n')
        self.assertIn('is not UTF-8 text (byte 8 of its first line)',
                      message)
        self.assertNotIn('secret-', message)

    def test_a_control_character(self):
        message = self.psk_error(b'secret-\x00-value\n')
        self.assertIn('holds a control character', message)
        self.assertNotIn('secret-', message)

    def test_a_first_line_too_long(self):
        message = self.psk_error(b'k' * 100000)
        self.assertIn('longer than 4096 bytes', message)
        self.assertNotIn('kkkk', message)

    def test_a_long_file_with_a_short_first_line_is_fine(self):
        path = os.path.join(self.tmp, 'psk')
        with open(path, 'wb') as f:
            f.write(b'the-pre-shared-key\r\n' + b'x' * 100000)
        self.assertEqual('the-pre-shared-key', self.resolver.resolve(
            {'file': path}, 'psk/plan/ic'))

    def test_a_fifo_is_refused_without_blocking(self):
        path = os.path.join(self.tmp, 'fifo')
        os.mkfifo(path)
        error = self.assertRaises(exceptions.ConfigError,
                                  self.resolver.resolve, {'file': path},
                                  'psk/plan/ic')
        self.assertIn('is not a regular file', str(error))

    def test_a_file_name_with_a_newline_is_escaped(self):
        error = self.assertRaises(exceptions.ConfigError,
                                  self.resolver.resolve,
                                  {'file': '/nowhere\n/x'}, 'psk/plan/ic')
        self.assertIn('/nowhere\\n/x', str(error))
        self.assertNotIn('\n', str(error))

    def test_an_environment_value_with_a_line_break(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'GF_TEST_PSK', 'secret-value\nsecond-line'))
        error = self.assertRaises(exceptions.ConfigError,
                                  self.resolver.resolve,
                                  {'env': 'GF_TEST_PSK'}, 'psk/plan/ic')
        self.assertIn('holds a control character or a line break',
                      str(error))
        self.assertNotIn('secret-value', str(error))

    def test_a_huge_master_key(self):
        with open(os.path.join(self.tmp, 'master.key'), 'wb') as f:
            f.write(b'k' * 1000000)
        error = self.assertRaises(exceptions.ConfigError,
                                  self.resolver.master_key)
        self.assertIn('is larger than 4096 bytes', str(error))
        self.assertNotIn('kkkk', str(error))

    def test_a_master_key_of_any_bytes_derives_keys(self):
        with open(os.path.join(self.tmp, 'master.key'), 'wb') as f:
            f.write(bytes(range(256)) + b'\n')
        value = self.resolver.resolve({'derive': True}, 'psk/plan/ic')
        self.assertTrue(value.isprintable())
