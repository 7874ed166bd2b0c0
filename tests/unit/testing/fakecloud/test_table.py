"""Tests of the fake cloud's tables: indexed lookups answer as scans.

Every lookup of a :class:`~geoflows.testing.fakecloud.base.Table` must
give what a scan of its rows gives (the same rows, in table order),
however the rows were changed after they were added.
"""

import copy
import pickle
import random

import fixtures
from openstack import exceptions as os_exc

from geoflows.testing.fakecloud import base as fake_base
from tests.unit import base as unit_base
from tests.unit.testing.fakecloud import base

Row = fake_base.FakeResource


def scan(table, conditions):
    return [r for r in table.values()
            if all(r.get(k) == v for k, v in conditions)]


class TableTestCase(unit_base.TestCase):

    def setUp(self):
        super().setUp()
        self.table = fake_base.Table()

    def add(self, key, **fields):
        self.table[key] = Row(id=key, **fields)
        return self.table[key]

    def names(self, name, table=None):
        table = self.table if table is None else table
        found = table.select([('name', name)])
        self.assertEqual(scan(table, [('name', name)]), found)
        table.check()
        found = {id(row) for row in found}
        return [key for key, row in table.items() if id(row) in found]


class TestRowChanges(TableTestCase):
    """A row's change, whichever way it is made, moves it in the index."""

    def setUp(self):
        super().setUp()
        self.a = self.add('a', name='x')
        self.b = self.add('b', name='y')
        self.c = self.add('c', name='x')
        self.assertEqual(['a', 'c'], self.names('x'))

    def test_setitem(self):
        self.b['name'] = 'x'
        self.a['name'] = 'z'

        self.assertEqual(['b', 'c'], self.names('x'))
        self.assertEqual(['a'], self.names('z'))

    def test_update(self):
        self.a.update(name='z')
        self.b.update({'name': 'x'}, other=1)
        self.c.update([('name', 'y')])

        self.assertEqual(['b'], self.names('x'))
        self.assertEqual(['c'], self.names('y'))

    def test_in_place_or(self):
        self.a |= {'name': 'y'}

        self.assertEqual(['a', 'b'], self.names('y'))

    def test_pop_and_del(self):
        self.assertEqual('x', self.a.pop('name'))
        del self.c['name']
        self.assertIsNone(self.b.pop('nothing', None))

        self.assertEqual([], self.names('x'))
        self.assertEqual(['a', 'c'], self.names(None))

    def test_setdefault(self):
        del self.a['name']

        self.assertEqual('y', self.a.setdefault('name', 'y'))
        self.assertEqual('y', self.a.setdefault('name', 'z'))
        self.assertEqual(['a', 'b'], self.names('y'))

    def test_popitem_and_clear(self):
        self.c.popitem()  # 'name', the last key
        self.a.clear()

        self.assertEqual([], self.names('x'))
        self.assertEqual(['a', 'c'], self.names(None))

    def test_a_later_row_changed_first_comes_in_table_order(self):
        self.c['name'] = 'w'
        self.a['name'] = 'w'

        self.assertEqual(['a', 'c'], self.names('w'))

    def test_a_copy_out_of_the_table_changes_nothing(self):
        for twin in (copy.copy(self.a), copy.deepcopy(self.a),
                     pickle.loads(pickle.dumps(self.a)), Row(self.a)):
            twin['name'] = 'y'

        self.assertEqual(['a', 'c'], self.names('x'))


class TestTableChanges(TableTestCase):
    """Rows added, replaced, removed: lookups follow, in table order."""

    def setUp(self):
        super().setUp()
        for key in 'abcd':
            self.add(key, name='n')

    def test_delete_and_add_again_with_the_same_key(self):
        old = self.table['b']
        del self.table['b']
        self.assertEqual(['a', 'c', 'd'], self.names('n'))

        self.add('b', name='n')

        self.assertEqual(['a', 'c', 'd', 'b'], self.names('n'))
        old['name'] = 'gone'  # no longer in the table: no effect
        self.assertEqual([], self.names('gone'))

    def test_replace_keeps_the_place(self):
        old = self.table['b']
        self.add('b', name='m')
        old['name'] = 'n'

        self.assertEqual(['a', 'c', 'd'], self.names('n'))
        self.assertEqual(['b'], self.names('m'))
        self.assertEqual(['a', 'b', 'c', 'd'], list(self.table))

    def test_pop_popitem_clear(self):
        self.table.pop('a')
        self.assertIsNone(self.table.pop('a', None))
        self.assertEqual('d', self.table.popitem()[0])
        self.assertEqual('b', self.table.popitem(last=False)[0])

        self.assertEqual(['c'], self.names('n'))
        self.table.clear()
        self.assertEqual([], self.names('n'))
        self.assertRaises(KeyError, self.table.popitem)

    def test_update_and_setdefault(self):
        self.table.update({'e': Row(id='e', name='n')})
        self.table.setdefault('f', Row(id='f', name='n'))
        self.table.setdefault('f', Row(id='f', name='other'))
        self.table |= {'g': Row(id='g', name='n')}

        self.assertEqual(list('abcdefg'), self.names('n'))

    def test_move_to_end(self):
        self.table.move_to_end('a')
        self.table.move_to_end('d', last=False)

        self.assertEqual(list(self.table), self.names('n'))
        self.assertEqual(['d', 'b', 'c', 'a'], self.names('n'))

    def test_only_rows_that_follow_their_changes(self):
        self.assertRaises(TypeError, self.table.__setitem__, 'x',
                          {'id': 'x', 'name': 'n'})
        self.assertNotIn('x', self.table)

    def test_a_copy_of_the_table_holds_the_same_rows(self):
        twin = self.table.copy()
        self.table['a']['name'] = 'm'
        del twin['b']

        self.assertEqual(['a'], self.names('m', twin))
        self.assertEqual(['c', 'd'], self.names('n', twin))
        self.assertEqual(['b', 'c', 'd'], self.names('n'))

    def test_a_deep_copy_is_independent(self):
        for twin in (copy.deepcopy(self.table),
                     pickle.loads(pickle.dumps(self.table))):
            self.table['a']['name'] = 'm'
            twin['c']['name'] = 'o'

            self.assertEqual(['a', 'b', 'd'], self.names('n', twin))
            self.assertEqual(['c'], self.names('o', twin))
            self.assertEqual(['b', 'c', 'd'], self.names('n'))
            self.table['a']['name'] = 'n'


class TestValues(TableTestCase):

    def test_unhashable_values_are_found(self):
        self.add('a', name=['x'])
        self.add('b', name='x')
        self.add('c', name=['x'])

        self.assertEqual(['a', 'c'], [r['id'] for r in self.table.select(
            [('name', ['x'])])])
        self.assertEqual(['b'], self.names('x'))
        self.assertEqual(['a', 'b', 'c'], [
            r['id'] for r in self.table.select_any([('name', ['x']),
                                                    ('name', 'x')])])
        self.table['a']['name'] = 'x'
        self.assertEqual(['a', 'b'], self.names('x'))
        self.table['c']['name'].append('y')  # a list changed in place
        self.assertEqual([], self.table.select([('name', ['x'])]))
        self.assertEqual(['c'], [r['id'] for r in self.table.select(
            [('name', ['x', 'y'])])])

    def test_equal_values_of_other_types(self):
        self.add('a', size=1)
        self.add('b', size=1.0)
        self.add('c', size=True)
        self.add('d', size='1')

        self.assertEqual(['a', 'b', 'c'], [
            r['id'] for r in self.table.select([('size', 1)])])

    def test_nan_equals_nothing(self):
        nan = float('nan')
        self.add('a', size=nan)

        self.assertEqual([], self.table.select([('size', nan)]))

    def test_several_conditions_and_missing_fields(self):
        self.add('a', name='x', network_id='n1')
        self.add('b', name='x', network_id='n2')
        self.add('c', network_id='n1')

        self.assertEqual(['a'], [r['id'] for r in self.table.select(
            [('network_id', 'n1'), ('name', 'x')])])
        self.assertEqual(['c'], self.names(None))
        self.assertEqual(['a', 'b', 'c'], [
            r['id'] for r in self.table.select([])])
        self.assertEqual(['a', 'c'], [r['id'] for r in self.table.select_any(
            [('network_id', 'n1'), ('name', None)])])

    def test_candidates_of_a_derived_index(self):
        def letters(value):
            return set(value)
        self.add('a', name='abc')
        self.add('b', name=None)  # set(None) raises: a candidate always
        self.add('c', name='cd')

        self.assertEqual(['a', 'b'], [r['id'] for r in self.table.candidates(
            'name', {'a', 'c'}, letters)])
        self.table['c']['name'] = 'ac'
        self.assertEqual(['a', 'b', 'c'], [
            r['id'] for r in self.table.candidates('name', {'a', 'c'},
                                                   letters)])
        self.assertEqual(['b'], [r['id'] for r in self.table.unreadable(
            'name', letters)])


class TestRandomOperations(TableTestCase):
    """Random changes of every kind: each lookup answers as a scan."""

    FIELDS = ('name', 'device_id', 'network_id')
    VALUES = (None, 'x', 'y', 'z', ['x'], 1)

    def check_lookups(self, rng, tables):
        for table in tables:
            table.check()
            for _ in range(3):
                conditions = [(f, rng.choice(self.VALUES)) for f in
                              rng.sample(self.FIELDS, rng.randint(1, 2))]
                self.assertEqual(scan(table, conditions),
                                 table.select(conditions))
                hashable = [(f, v) for f, v in conditions
                            if not isinstance(v, list)]
                self.assertEqual(
                    [r for r in table.values()
                     if any(r.get(k) == v for k, v in hashable)],
                    table.select_any(hashable))

    def change_row(self, rng, row):
        field, value = rng.choice(self.FIELDS), rng.choice(self.VALUES)
        operation = rng.randrange(8)
        if operation == 0:
            row[field] = value
        elif operation == 1:
            row.update({field: value, 'other': value})
        elif operation == 2:
            row.pop(field, None)
        elif operation == 3:
            row.setdefault(field, value)
        elif operation == 4 and field in row:
            del row[field]
        elif operation == 5:
            row |= {field: value}
        elif operation == 6 and len(row) > 1:
            row.popitem()
        else:
            row.update([(f, rng.choice(self.VALUES)) for f in self.FIELDS])

    def change_table(self, rng, tables, keys):
        table = rng.choice(tables)
        key = rng.choice(keys)
        operation = rng.randrange(6)
        if operation in (0, 1):
            table[key] = Row({f: rng.choice(self.VALUES)
                              for f in self.FIELDS if rng.random() < 0.8})
        elif operation == 2:
            table.pop(key, None)
        elif operation == 3 and table:
            table.popitem(last=rng.random() < 0.5)
        elif operation == 4 and key in table:
            table.move_to_end(key, last=rng.random() < 0.5)
        elif operation == 5 and table:
            other = rng.choice(tables)
            # The same row in two tables (or twice in one).
            other[rng.choice(keys)] = rng.choice(list(table.values()))

    def test_random_operations(self):
        for seed in range(20):
            rng = random.Random(seed)
            tables = [fake_base.Table(), fake_base.Table()]
            keys = ['k%d' % i for i in range(12)]
            for step in range(150):
                choice = rng.random()
                rows = [r for t in tables for r in t.values()]
                if choice < 0.55 and rows:
                    self.change_row(rng, rng.choice(rows))
                elif choice < 0.95:
                    self.change_table(rng, tables, keys)
                elif choice < 0.98:
                    tables = copy.deepcopy(tables)
                else:
                    tables = [t.copy() for t in tables]
                self.check_lookups(rng, tables)


class TestProxyLookups(base.FakeCloudTestCase):
    """The proxies' lookups, after the changes their calls make."""

    def test_duplicate_names_until_one_is_renamed(self):
        first = self.net.create_network(name='twin')
        self.net.create_network(name='twin')

        self.assertRaises(os_exc.DuplicateResource, self.net.find_network,
                          'twin')
        self.site._raw_network._update('network', first.id, name='first')

        self.assertEqual(first.id, self.net.find_network('first').id)
        self.assertNotEqual(first.id, self.net.find_network('twin').id)

    def test_a_deleted_name_is_free_again(self):
        volume = self.storage.create_volume(size=1, name='data')
        self.storage.delete_volume(volume.id)
        self.assertIsNone(self.storage.find_volume('data'))

        again = self.storage.create_volume(size=1, name='data')

        self.assertEqual(again.id, self.storage.find_volume('data').id)

    def test_ports_follow_their_server(self):
        network = self.make_network()
        port = self.make_port(network, name='p')
        server = self.boot(networks=[{'port': port.id}])

        self.assertEqual([port.id], [p.id for p in self.net.ports(
            device_id=server.id)])
        self.assertEqual(port.id, self.net.find_port(
            'p', device_id=server.id).id)
        self.compute.delete_server(server.id)

        self.assertEqual([], self.net.ports(device_id=server.id))
        self.assertIsNone(self.net.find_port('p', device_id=server.id))
        self.assertEqual(port.id, self.net.find_port('p').id)

    def test_fixed_ips_follow_updates_and_deletes(self):
        network = self.make_network()
        port = self.make_port(network, fixed_ips=[{'ip_address':
                                                   '10.7.0.10'}])
        self.assertHttpError(409, 'IP address 10.7.0.10 already allocated',
                             self.make_port, network,
                             fixed_ips=[{'ip_address': '10.7.0.10'}])

        self.net.update_port(port.id, fixed_ips=[{'ip_address':
                                                  '10.7.0.11'}])
        moved = self.make_port(network, fixed_ips=[{'ip_address':
                                                    '10.7.0.10'}])
        self.assertHttpError(409, 'IP address 10.7.0.11 already allocated',
                             self.make_port, network,
                             fixed_ips=[{'ip_address': '10.7.0.11'}])
        # A port keeps its own address, and another network has its own.
        self.net.update_port(port.id, fixed_ips=[{'ip_address':
                                                  '10.7.0.11'}])
        other = self.make_network('other', '10.7.0.0/24')
        self.make_port(other, fixed_ips=[{'ip_address': '10.7.0.11'}])
        self.net.delete_port(moved.id)

        self.assertEqual('10.7.0.10', self.make_port(network, fixed_ips=[
            {'ip_address': '10.7.0.10'}]).fixed_ips[0]['ip_address'])

    def test_backups_of_a_volume_and_their_parents(self):
        volume = self.storage.create_volume(size=1, name='v')
        self.storage.get_volume(volume.id)
        full = self.storage.create_backup(volume.id, name='full')
        self.storage.get_backup(full.id)
        incremental = self.storage.create_backup(volume.id, name='inc',
                                                 is_incremental=True)
        self.storage.get_backup(incremental.id)

        self.assertEqual(['full', 'inc'], [
            b.name for b in self.storage.backups(volume_id=volume.id)])
        self.assertHttpError(400, 'Incremental backups exist',
                             self.storage.delete_backup, full.id)
        self.storage.delete_backup(incremental.id)
        self.storage.delete_backup(full.id)
        self.assertEqual([], self.storage.backups(volume_id=volume.id))

    def test_port_pairs_by_port(self):
        network = self.make_network()
        ports = [self.make_port(network) for _ in range(3)]
        server = self.boot(networks=[{'port': p.id} for p in ports])
        pair = self.net.create_sfc_port_pair(ports[0].id, ports[1].id)

        for port in ports[:2]:
            self.assertHttpError(500, 'internal server error',
                                 self.net.delete_port, port.id)
        self.net.delete_sfc_port_pair(pair.id)
        self.compute.delete_server(server.id)
        self.net.delete_port(ports[0].id)
        self.assertEqual([], self.site.sfc_violations)


class TestServerNames(base.FakeCloudTestCase):
    """Nova's name filter is a regular expression: a search, not ==."""

    def setUp(self):
        super().setUp()
        network = self.make_network()
        flavor = self.make_flavor()
        image = self.make_image()
        for name in ('vnf-1', 'vnf-10', 'xvnf-1', 'vnf-2', 'vnf.1'):
            self.compute.create_server(
                name=name, flavor_id=flavor.id, image_id=image.id,
                networks=[{'port': self.make_port(network).id}])

    def named(self, pattern):
        return [s.name for s in self.compute.servers(name=pattern)]

    def test_a_plain_name_finds_the_names_that_have_it(self):
        self.assertEqual(['vnf-1', 'vnf-10', 'xvnf-1'], self.named('vnf-1'))
        self.assertEqual([], self.named('vnf-3'))

    def test_regular_expressions(self):
        self.assertEqual(['vnf-1'], self.named('^vnf-1$'))
        self.assertEqual(['vnf-1', 'vnf-10', 'xvnf-1', 'vnf.1'],
                         self.named('vnf.1'))
        self.assertEqual(['vnf-2'], self.named('2'))

    def test_a_rename_is_followed(self):
        [server] = self.compute.servers(name='vnf-2')
        self.site._raw_compute._tables['server'][server.id]['name'] = \
            'vnf-100'

        self.assertEqual(['vnf-1', 'vnf-10', 'xvnf-1', 'vnf-100'],
                         self.named('vnf-1'))
        self.assertEqual([], self.named('vnf-2'))

    def test_a_server_of_no_name_fails_a_search_as_before(self):
        flavor = self.make_flavor('other')
        self.compute.create_server(
            name=None, flavor_id=flavor.id,
            image_id=self.make_image('other').id,
            networks=[{'port': self.make_port(self.make_network(
                'other', '10.9.0.0/24')).id}])

        self.assertRaises(TypeError, self.named, 'vnf-1')


class TestCheckedLookups(base.FakeCloudTestCase):
    """Random calls on a site, every lookup checked against a scan."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'geoflows.testing.fakecloud.base.CHECK_INDEXES', True))

    def check_tables(self, site):
        for proxy in site._proxies.values():
            for table in proxy._tables.values():
                table.check()

    def test_random_calls(self):
        rng = random.Random(7)
        networks = [self.make_network('net-%d' % i, '10.%d.0.0/24' % i)
                    for i in range(2)]
        flavor = self.make_flavor()
        image = self.make_image()
        servers = []
        for step in range(120):
            network = rng.choice(networks)
            ports = self.net.ports()
            choice = rng.randrange(7)
            try:
                if choice == 0:
                    self.make_port(network, name=rng.choice('abc'),
                                   fixed_ips=[{'ip_address': '10.%s.0.%d' % (
                                       networks.index(network),
                                       rng.randint(2, 9))}])
                elif choice == 1 and ports:
                    self.net.update_port(rng.choice(ports).id,
                                         name=rng.choice('abc'))
                elif choice == 2 and ports:
                    self.net.delete_port(rng.choice(ports).id)
                elif choice == 3 and ports:
                    servers.append(self.compute.create_server(
                        name='vnf-%d' % rng.randint(1, 12),
                        flavor_id=flavor.id, image_id=image.id,
                        networks=[{'port': rng.choice(ports).id}]).id)
                elif choice == 4 and servers:
                    self.compute.delete_server(servers.pop(
                        rng.randrange(len(servers))))
                elif choice == 5:
                    self.make_port(network, mac_address='fa:16:3e:00:00:%02d'
                                   % rng.randint(1, 5))
                else:
                    self.storage.create_volume(size=1,
                                               name=rng.choice('abc'))
            except os_exc.HttpException:
                pass  # a conflict: an address or a MAC in use
            for name in 'abc':
                for call in (self.net.find_port, self.storage.find_volume):
                    try:
                        call(name)
                    except os_exc.DuplicateResource:
                        pass
                self.net.ports(name=name, network_id=network.id)
            self.compute.servers(name='vnf-1')
            self.compute.servers(name='vnf')
            for port in ports:
                self.net.ports(device_id=port.device_id)
            self.check_tables(self.site)
        twin = self.clouds.clone()
        self.check_tables(twin.site('telco', 'paris'))
        self.assertEqual(self.site.inventory(),
                         twin.site('telco', 'paris').inventory())
