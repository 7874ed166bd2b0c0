"""Create an empty Neutron schema from the models (runs in the Neutron venv).

``neutron-db-manage upgrade heads`` cannot run on SQLite (ALTER of
constraints), so the schema of neutron and its three service plugins is
created from their SQLAlchemy models instead.  Every Enum column also gets a
CHECK constraint so that SQLite rejects values outside the enum, as
PostgreSQL and MySQL do; otherwise bad values are stored and every later read
of the row fails.

Usage: neutron_dbinit.py SQLALCHEMY_URL
"""
import sys

import sqlalchemy as sa

from networking_bgpvpn.neutron.db import head as _bgpvpn  # noqa: F401
from networking_sfc.db.migration.models import head as _sfc  # noqa: F401
from neutron.db.migration.models import head as neutron_head
from neutron_vpnaas.db.models import head as _vpnaas  # noqa: F401


def main(url):
    metadata = neutron_head.get_metadata()
    for table in metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, sa.Enum) and column.type.enums:
                table.append_constraint(sa.CheckConstraint(
                    sa.column(column.name).in_(column.type.enums),
                    name='ck_%s_%s_enum' % (table.name, column.name)))
    metadata.create_all(sa.create_engine(url))
    print('created %d tables' % len(metadata.tables))


if __name__ == '__main__':
    main(sys.argv[1])
