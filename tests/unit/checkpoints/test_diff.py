"""What checkpoint diff reports, on hand-made checkpoints."""

import copy

from geoflows import checkpoints
from geoflows.checkpoints import diff
from tests.unit import base


def server(name, flavor='small', ip='10.0.0.5'):
    return {'name': name, 'flavor': flavor, 'image': 'img-1',
            'source_id': 'id-' + name, 'metadata': {'vnf': 'hss'},
            'ports': [{'name': name + '-p', 'network': 'net',
                       'fixed_ips': [{'subnet': 'net', 'ip_address': ip}],
                       'source_id': 'port-' + name}],
            'volumes': [{'name': name + '-db', 'size': 1,
                         'source_id': 'vol-' + name}]}


def checkpoint(vnfs, rules=(), copies=()):
    group_doc = {'security_groups': [{
        'name': 'sg', 'rules': [dict(r) for r in rules],
        'source_id': 'sg-1'}], 'flavors': [], 'networks': []}
    return checkpoints.Checkpoint(
        id='cp', plan_name='p', group_name='g', job_id='j',
        source_site='a', target_site='b', state='complete',
        created_at=None, consistent_at=None, completed_at=None,
        document={'group_doc': group_doc},
        vnfs={name: {'servers': servers, 'copies': list(copies),
                     'priority': 1, 'standby': 'cold',
                     'consistent_at': 'x'}
              for name, servers in vnfs.items()})


SSH = {'direction': 'ingress', 'ethertype': 'IPv4', 'protocol': 'tcp',
       'port_range_min': 22, 'port_range_max': 22,
       'remote_ip_prefix': '0.0.0.0/0', 'remote_group': None}


class TestChanges(base.TestCase):

    def lines(self, old, new):
        return [diff.format_change(c) for c in diff.changes(old, new)]

    def test_the_same_checkpoint_has_no_change(self):
        cp = checkpoint({'hss': [server('hss-1')]}, rules=[SSH])
        self.assertEqual([], self.lines(cp, copy.deepcopy(cp)))

    def test_ids_and_times_are_not_changes(self):
        old = checkpoint({'hss': [server('hss-1')]})
        new = copy.deepcopy(old)
        new.vnfs['hss']['servers'][0]['source_id'] = 'other'
        new.vnfs['hss']['consistent_at'] = 'later'
        self.assertEqual([], self.lines(old, new))

    def test_rules_servers_and_values(self):
        old = checkpoint({'hss': [server('hss-1')]}, rules=[SSH])
        web = dict(SSH, port_range_min=80, port_range_max=443)
        new = checkpoint({'hss': [server('hss-1', flavor='large',
                                         ip='10.0.0.9'),
                                  server('hss-2')],
                          'pgw': [server('pgw-1')]}, rules=[web])
        self.assertEqual([
            '- security group sg: rule ingress IPv4 tcp 22 from 0.0.0.0/0',
            '+ security group sg: rule ingress IPv4 tcp 80-443 from '
            '0.0.0.0/0',
            '~ VNF hss: server hss-1: flavor: small -> large',
            '~ VNF hss: server hss-1: port hss-1-p: fixed_ips: '
            "[{'subnet': 'net', 'ip_address': '10.0.0.5'}] -> "
            "[{'subnet': 'net', 'ip_address': '10.0.0.9'}]",
            '+ VNF hss: server hss-2',
            '+ VNF pgw',
        ], self.lines(old, new))

    def test_rule_from_a_group(self):
        rule = dict(SSH, remote_ip_prefix=None, remote_group='sg',
                    protocol=None, port_range_min=None, port_range_max=None)
        self.assertEqual('ingress IPv4 any from group sg',
                         diff.rule_text(rule))

    def test_copies_are_named_by_their_volume(self):
        cp = checkpoint({'hss': [server('hss-1')]}, copies=[
            {'method': 'backup', 'volume': 'vol-hss-1', 'backup_id': 'b1',
             'incremental': True},
            {'method': 'image', 'volume': 'gone', 'image_id': 'i1'}])
        self.assertEqual(['VNF hss: volume hss-1-db: backup b1 '
                          '(incremental)',
                          'VNF hss: volume gone: image i1'],
                         diff.copy_lines(cp))
