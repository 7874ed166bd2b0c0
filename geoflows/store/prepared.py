"""Statements compiled once, run on the raw DB-API cursor.

The steps of a job write their state a dozen times each; SQLAlchemy's
statement machinery (compilation cache, events, result objects) costs more
than the write itself.  These few hot statements are compiled once per
dialect and executed on the cursor of the transaction's connection, with
SQLAlchemy's own parameter conversions (e.g. datetimes on SQLite).
"""

import sqlalchemy as sa


class Prepared(object):

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = compiled.positional
        self.order = list(compiled.positiontup or ()) if self.positional \
            else None
        self.processors = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(
                dialect)
            if processor is not None:
                self.processors[name] = processor

    def params(self, values):
        if self.processors:
            values = dict(values)
            for name, processor in self.processors.items():
                if name in values:
                    values[name] = processor(values[name])
        if self.positional:
            return tuple(values[name] for name in self.order)
        return values

    def execute(self, conn, values):
        """Run on the DB-API connection of SQLAlchemy connection ``conn``.

        Returns the number of rows the statement changed.
        """
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self.sql, self.params(values))
            return cursor.rowcount
        finally:
            cursor.close()


class Statements(object):
    """The prepared statements of one table, by the columns they set."""

    def __init__(self, table, key, dialect):
        self.table = table
        self.key = key
        self.dialect = dialect
        self._cache = {}

    def update(self, columns):
        """UPDATE ``columns`` WHERE key = :key_."""
        columns = tuple(columns)
        found = self._cache.get(('update', columns))
        if found is None:
            statement = self.table.update().where(
                self.table.c[self.key] == sa.bindparam('key_')).values(
                {name: sa.bindparam(name) for name in columns})
            found = self._cache[('update', columns)] = Prepared(
                statement, self.dialect)
        return found

    def insert(self, columns):
        columns = tuple(columns)
        found = self._cache.get(('insert', columns))
        if found is None:
            statement = self.table.insert().values(
                {name: sa.bindparam(name) for name in columns})
            found = self._cache[('insert', columns)] = Prepared(
                statement, self.dialect)
        return found
