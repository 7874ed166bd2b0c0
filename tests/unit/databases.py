"""Fixtures: a fresh database on the machine's PostgreSQL or MySQL.

The test is skipped when the server does not answer, so that the unit
tests still run on a laptop without them.
"""

import uuid

import fixtures
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

PG_URL = 'postgresql+psycopg2://postgres@127.0.0.1:5432/%s'
MYSQL_URL = 'mysql+pymysql://root@127.0.0.1:3306/%s'


class Database(fixtures.Fixture):
    """A database of its own for one test, dropped afterwards.

    ``self.url`` is its SQLAlchemy URL.
    """

    template = None   # URL with %s for the database name
    admin_database = None
    drop_sql = 'DROP DATABASE IF EXISTS %s'
    missing = None    # why the test is skipped without the server

    @classmethod
    def admin_engine(cls):
        return sa.create_engine(cls.template % cls.admin_database,
                                isolation_level='AUTOCOMMIT',
                                connect_args={'connect_timeout': 5})

    @classmethod
    def unreachable(cls):
        """Why the server cannot be used, or None when it can."""
        admin = cls.admin_engine()
        try:
            with admin.connect() as conn:
                conn.execute(sa.text('SELECT 1'))
        except sa_exc.OperationalError as e:
            return '%s: %s' % (cls.missing, e.orig)
        finally:
            admin.dispose()
        return None

    def _setUp(self):
        admin = self.admin_engine()
        self.addCleanup(admin.dispose)
        name = 'geoflows_test_%s' % uuid.uuid4().hex[:16]
        with admin.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % name))
        self.addCleanup(self._drop, admin, name)
        self.url = self.template % name

    def _drop(self, admin, name):
        with admin.connect() as conn:
            conn.execute(sa.text(self.drop_sql % name))


class PostgreSQLDatabase(Database):
    template = PG_URL
    admin_database = 'postgres'
    drop_sql = 'DROP DATABASE IF EXISTS %s WITH (FORCE)'
    missing = 'no PostgreSQL server on 127.0.0.1:5432 with trust auth for ' \
        'postgres'


class MySQLDatabase(Database):
    template = MYSQL_URL
    admin_database = 'mysql'
    missing = 'no MySQL server on 127.0.0.1:3306 for root'


def use(test, fixture_class):
    """The URL of a fresh database for ``test``, or skip it."""
    reason = fixture_class.unreachable()
    if reason:
        test.skipTest(reason)
    return test.useFixture(fixture_class()).url
