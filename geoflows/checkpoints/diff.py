"""What changed at the primary between two checkpoints of a group.

``geoflows checkpoint diff`` prints one line per change, ``+`` for what the
newer checkpoint has and the older has not, ``-`` for the reverse, ``~``
for a changed value, each with where it is::

    + security group vnf-sg: rule ingress IPv4 tcp 9000 from 0.0.0.0/0
    ~ VNF hss: server hss-1: flavor: vnf-small -> vnf-large
    + VNF pgw: server pgw-3

and, for the data, what each copy of the newer checkpoint is (full or
incremental, and of what).  Identities at the primary (``source_id``) and
capture times are not changes: they differ in every checkpoint.
"""

#: Keys that differ in every checkpoint without anything having changed.
_VOLATILE = frozenset(('source_id', 'subnet_id', 'consistent_at',
                       'created_at', 'copies'))

#: How a list of the checkpoint is named in the lines (singular).
_LABELS = {
    'networks': 'network', 'subnets': 'subnet', 'routers': 'router',
    'interfaces': 'interface', 'security_groups': 'security group',
    'keypairs': 'keypair', 'flavors': 'flavor', 'images': 'image',
    'server_groups': 'server group', 'chains': 'chain',
    'port_pair_groups': 'port pair group', 'port_pairs': 'port pair',
    'flow_classifiers': 'flow classifier', 'servers': 'server',
    'ports': 'port', 'volumes': 'volume',
}


def rule_text(rule):
    """A security group rule as a line: what it lets through."""
    parts = [rule.get('direction') or '', rule.get('ethertype') or '',
             rule.get('protocol') or 'any']
    low, high = rule.get('port_range_min'), rule.get('port_range_max')
    if low is not None:
        parts.append(str(low) if low == high or high is None
                     else '%s-%s' % (low, high))
    if rule.get('remote_group'):
        parts.append('from group %s' % rule['remote_group'])
    elif rule.get('remote_ip_prefix'):
        parts.append('from %s' % rule['remote_ip_prefix'])
    return ' '.join(p for p in parts if p)


def _keyed(items, label):
    """{identity: item} for a list whose items have one, else None."""
    if label == 'rules':
        return {rule_text(r): r for r in items}
    if label == 'interfaces':
        return {i.get('subnet'): i for i in items}
    if not all(isinstance(i, dict) and i.get('name') for i in items):
        return None
    found = {i['name']: i for i in items}
    return found if len(found) == len(items) else None


def _where(path):
    return ': '.join(path)


def _value(value):
    if value is None or value == '':
        return '(none)'
    return str(value)


def _compare(path, old, new, out):
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key in _VOLATILE or key == 'name':
                continue
            if key not in old:
                out.append(('+', _where(path + [key]), _value(new[key])))
            elif key not in new:
                out.append(('-', _where(path + [key]), _value(old[key])))
            else:
                _compare_field(path, key, old[key], new[key], out)
        return
    if old != new:
        out.append(('~', _where(path),
                    '%s -> %s' % (_value(old), _value(new))))


def _compare_field(path, key, old, new, out):
    if isinstance(old, list) and isinstance(new, list):
        label = _LABELS.get(key, key[:-1] if key.endswith('s') else key)
        old_keyed, new_keyed = _keyed(old, key), _keyed(new, key)
        if old_keyed is not None and new_keyed is not None:
            _compare_keyed(path, label, old_keyed, new_keyed, out)
            return
    if isinstance(old, dict) and isinstance(new, dict):
        _compare(path + [key], old, new, out)
        return
    if old != new:
        out.append(('~', _where(path + [key]), '%s -> %s' % (
            _value(old), _value(new))))


def _compare_keyed(path, label, old, new, out):
    for name in sorted(set(old) | set(new), key=str):
        where = path + ['%s %s' % (label, name)]
        if name not in old:
            out.append(('+', _where(where), None))
        elif name not in new:
            out.append(('-', _where(where), None))
        else:
            _compare(where, old[name], new[name], out)


def changes(old, new):
    """The changes from checkpoint ``old`` to ``new``: (sign, where, what).

    ``what`` is None for an item added or removed as a whole.
    """
    out = []
    old_doc = old.document.get('group_doc', {})
    new_doc = new.document.get('group_doc', {})
    for key in sorted(set(old_doc) | set(new_doc)):
        _compare_field([], key, old_doc.get(key, []), new_doc.get(key, []),
                       out)
    _compare_keyed([], 'VNF', old.vnfs, new.vnfs, out)
    return out


def copy_lines(checkpoint):
    """What each data copy of ``checkpoint`` is, one line per copy."""
    lines = []
    for vnf, part in sorted(checkpoint.vnfs.items()):
        names = {v['source_id']: v['name'] for server in part['servers']
                 for v in server.get('volumes', ())}
        for record in part.get('copies', ()):
            what = record.get('method', '?')
            keys = ('backup_id', 'image_id', 'replica_id', 'verdict')
            ident = next((record[k] for k in keys if record.get(k)), None)
            if ident:
                what += ' ' + str(ident)
            if 'incremental' in record:
                what += ' (incremental)' if record['incremental'] else \
                    ' (full)'
            volume = record.get('volume')
            lines.append('VNF %s: volume %s: %s' % (
                vnf, names.get(volume, volume), what))
    return lines


def format_change(change):
    sign, where, what = change
    return '%s %s%s' % (sign, where, '' if what is None else ': ' + what)
