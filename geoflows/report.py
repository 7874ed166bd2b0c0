"""The report of a takeover, failback or drill job (``geoflows job report``).

:func:`build` gathers, per protection group and VNF, what the job's report
units recorded (ready, measured RTO, achieved RPO, the group's verification)
with the VNF's steps and their times from the job's start, and what failed
or was skipped.  :func:`table_rows` and :func:`html` present it; the HTML
page is self-contained: it embeds Chart.js (geoflows/report_static) and
loads nothing from the network.

A report unit is any unit whose result holds a ``vnfs`` dict (a takeover's
or a drill's ``GROUP.done``, a failback's): new operations with such a unit
have a report without a change here.  The report carries no job spec and no
credentials.  Only the standard library is imported: the command reads the
state store without a runner.
"""

import html as html_mod
import json
import os
import re

from geoflows import exceptions
from geoflows import jobs

#: the fields of each VNF's row, in the table's order
VNF_FIELDS = ('priority', 'standby', 'ready', 'rto', 'rto_target',
              'rto_met', 'rpo', 'rpo_target')

#: step states as the chart colours them
CATEGORIES = {
    'SUCCESS': 'success',
    'FAILURE': 'failed', 'REVERT_FAILURE': 'failed',
    'REVERTED': 'reverted', 'REVERTING': 'reverted',
    'SKIPPED': 'skipped'}

TABLE_HEADINGS = ('group', 'VNF', 'priority', 'standby', 'ready', 'RTO (s)',
                  'RTO target', 'met', 'RPO (s)', 'RPO target', 'verify')

PROBLEM_HEADINGS = ('unit', 'step', 'state', 'message')

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'report_static')
CHART_JS = os.path.join(STATIC, 'chart.umd.min.js')


def report_units(job):
    """``{unit name: report}`` of the job's units that report per VNF."""
    units = (job.result or {}).get('units') or {}
    return {name: report for name, report in units.items()
            if isinstance(report, dict) and
            isinstance(report.get('vnfs'), dict)}


def check_reportable(job):
    """Raise unless ``job`` has report units (takeover, failback, drill)."""
    if not report_units(job):
        if job.operation in ('takeover', 'failback', 'drill'):
            raise exceptions.GeoflowsError(
                'job %s (%s, %s) has no report yet: no group reached its '
                'report step' % (job.id, job.operation, job.display_state))
        raise exceptions.GeoflowsError(
            'job %s is a %s: only takeover, failback and drill jobs have a '
            'report' % (job.id, job.operation))


def _offset(job, when):
    if when is None or job.started_at is None:
        return None
    return round((when - job.started_at).total_seconds(), 3)


def _step(job, step):
    """A step's name, state and times (seconds from the job's start).

    A reverted step spans from its start to the end of its undoing.
    """
    start = step['started_at'] or step['revert_started_at']
    end = (step['revert_finished_at'] or step['revert_started_at']
           if step['revert_started_at'] else step['finished_at'])
    return {'unit': step['unit'], 'name': step['name'],
            'state': step['state'],
            'start': _offset(job, start), 'end': _offset(job, end)}


def verdict(report):
    """One line on a group's verification."""
    verify = report.get('verify')
    if not verify:
        return 'not verified'
    if verify.get('error'):
        return 'not verified: %s' % verify['error']
    differences = verify.get('differences') or []
    if differences:
        return '%d difference%s from checkpoint %s' % (
            len(differences), '' if len(differences) == 1 else 's',
            report.get('checkpoint') or verify.get('checkpoint') or '-')
    return 'clean'


def _problems(job):
    """What failed or was skipped: one entry per failed step or unit."""
    result = job.result or {}
    problems = []
    for unit, why in sorted((result.get('failed') or {}).items()):
        found = re.findall(r'(?:^|; )%s: (?:undoing )?step (\S+) failed' %
                           re.escape(unit), why)
        problems.append({'unit': unit, 'step': ', '.join(found) or None,
                         'state': 'FAILED', 'message': why})
    for unit, why in sorted((result.get('skipped') or {}).items()):
        problems.append({'unit': unit, 'step': None, 'state': 'SKIPPED',
                         'message': why})
    if not problems and job.error and job.state != jobs.SUCCESS:
        problems.append({'unit': None, 'step': None, 'state': job.state,
                         'message': job.error})
    return problems


def _owner(unit, group, vnfs):
    """The VNF of ``group`` a unit belongs to (``GROUP/VNF[.part]``)."""
    prefix = group + '/'
    if not unit.startswith(prefix):
        return None
    name = unit[len(prefix):]
    if name in vnfs:
        return name
    base = name.split('.', 1)[0]
    return base if base in vnfs else None


def build(records, job):
    """The report of ``job`` as a JSON-able dict.

    ``records`` answers ``job_steps(job_id)`` (a
    :class:`geoflows.store.StateStore` or a
    :class:`geoflows.queries.SQLiteRecords`).  Raises
    :class:`geoflows.exceptions.GeoflowsError` for a job without a report.
    """
    check_reportable(job)
    from geoflows import queries

    try:  # a StateStore can leave the steps' data (most of their bytes)
        rows = records.job_steps(job.id, data=False)
    except TypeError:  # SQLiteRecords reads it anyway
        rows = records.job_steps(job.id)
    steps = queries.visible_steps(rows)
    problems = _problems(job)
    skipped = {p['unit']: p['message'] for p in problems
               if p['state'] == 'SKIPPED'}
    groups = []
    for _name, unit_report in sorted(report_units(job).items()):
        group = unit_report.get('group') or _name.rsplit('.', 1)[0]
        infos = unit_report['vnfs']
        said = verdict(unit_report)
        vnfs = {}
        for name, info in infos.items():
            row = {field: info.get(field) for field in VNF_FIELDS}
            row.update((k, v) for k, v in info.items() if k not in row)
            if row['ready'] is None and 'origin_ready' in info:
                row['ready'] = info['origin_ready'] is not None  # failback
            row.update(name=name, group=group, verify=said, steps=[],
                       problems=[])
            vnfs[name] = row
        group_steps = []
        for step in steps:
            owner = _owner(step['unit'], group, vnfs)
            if owner is not None:
                vnfs[owner]['steps'].append(_step(job, step))
            elif step['unit'].startswith(group + '.') or \
                    step['unit'] == group:
                group_steps.append(_step(job, step))
        group_problems = []
        for problem in problems:
            owner = problem['unit'] and _owner(problem['unit'], group, vnfs)
            if owner:
                vnfs[owner]['problems'].append(problem)
                if problem['unit'] in skipped and not any(
                        s['unit'] == problem['unit']
                        for s in vnfs[owner]['steps']):
                    vnfs[owner]['steps'].append({
                        'unit': problem['unit'], 'name': '(skipped)',
                        'state': 'SKIPPED', 'start': None, 'end': None})
            elif problem['unit'] and problem['unit'].startswith(group + '.'):
                group_problems.append(problem)
        verify = unit_report.get('verify') or {}
        groups.append({
            'group': group, 'unit': _name,
            'checkpoint': unit_report.get('checkpoint'),
            'mode': unit_report.get('mode') or unit_report.get('stage'),
            'verify': {'verdict': said,
                       'clean': verify.get('clean'),
                       'differences': list(verify.get('differences') or ()),
                       'error': verify.get('error')},
            'vnfs': sorted(vnfs.values(),
                           key=lambda r: (r['priority'] is None,
                                          r['priority'] or 0, r['name'])),
            'steps': group_steps, 'problems': group_problems})
    return {
        'id': job.id, 'operation': job.operation, 'plan': job.plan_name,
        'state': job.display_state,
        'started_at': jobs.isoformat(job.started_at),
        'finished_at': jobs.isoformat(job.finished_at),
        'duration': job.duration, 'error': job.error,
        'groups': groups, 'problems': problems}


def vnf_rows(report):
    """Every VNF of the report, group by group."""
    return [vnf for group in report['groups'] for vnf in group['vnfs']]


def _number(value):
    return '-' if value is None else '%g' % value


def _yes(value):
    return '-' if value is None else ('yes' if value else 'no')


def table_rows(report):
    """One row per VNF, in :data:`TABLE_HEADINGS`' order."""
    return [(v['group'], v['name'], _number(v['priority']),
             v['standby'] or '-', _yes(v['ready']), _number(v['rto']),
             _number(v['rto_target']), _yes(v['rto_met']),
             _number(v['rpo']), _number(v['rpo_target']), v['verify'])
            for v in vnf_rows(report)]


def problem_rows(report):
    """The failed and skipped units, in :data:`PROBLEM_HEADINGS`' order."""
    return [(p['unit'] or '-', p['step'] or '-', p['state'], p['message'])
            for p in report['problems']]


# -- the HTML page ---------------------------------------------------------

def _chart_js():
    with open(CHART_JS, encoding='utf-8') as f:
        text = f.read()
    # The source map is not shipped: no browser should look for it.
    return re.sub(r'\n//# sourceMappingURL=\S*\s*$', '\n', text)


def _script_json(value):
    """JSON that cannot end its <script> element (or open a comment)."""
    return (json.dumps(value, sort_keys=True).replace('<', '\\u003c')
            .replace('>', '\\u003e').replace('&', '\\u0026'))


def _chart_data(report):
    """The timeline: rows (group/VNF), bars per state, RTO marks."""
    rows, bars, targets, measured = [], [], [], []
    end = report['duration'] or 0
    for vnf in vnf_rows(report):
        label = '%s/%s' % (vnf['group'], vnf['name'])
        rows.append(label)
        for step in vnf['steps']:
            if step['start'] is not None:
                end = max(end, step['end'] or step['start'])
        for step in vnf['steps']:
            category = CATEGORIES.get(step['state'], 'other')
            start, stop = step['start'], step['end']
            if start is None:
                if category != 'skipped':
                    continue  # never ran
                start, stop = 0, None
            bars.append({'row': label, 'step': step['name'],
                         'unit': step['unit'], 'state': step['state'],
                         'category': category, 'start': start,
                         'end': stop})
        if vnf['rto_target'] is not None:
            targets.append({'row': label, 'x': vnf['rto_target']})
        if vnf['rto'] is not None:
            measured.append({'row': label, 'x': vnf['rto']})
    for bar in bars:
        if bar['end'] is None:
            bar['end'] = end if bar['category'] == 'skipped' else bar['start']
    return {'rows': rows, 'bars': bars, 'targets': targets,
            'measured': measured}


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>%(title)s</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; }
h2 { font-size: 1.15em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #eee; }
td.bad { color: #b00020; font-weight: bold; }
td.good { color: #1b5e20; }
pre { margin: 0; white-space: pre-wrap; }
.meta td:first-child { font-weight: bold; }
#timeline-box { position: relative; width: 100%%; max-width: 1100px;
                height: %(height)dpx; }
</style>
</head>
<body>
<h1>%(title)s</h1>
<table class="meta">
%(meta)s
</table>
<h2>Timeline</h2>
<p>Each VNF's steps, in seconds from the job's start, coloured by state;
the red mark is the VNF's RTO target, the black diamond its measured
RTO.</p>
<div id="timeline-box"><canvas id="timeline"></canvas></div>
<h2>VNFs</h2>
<table id="vnfs">
<tr>%(headings)s</tr>
%(rows)s
</table>
<h2>Verification</h2>
<table id="verify">
<tr><th>group</th><th>checkpoint</th><th>verdict</th></tr>
%(verify)s
</table>
<h2>Failed and skipped</h2>
%(problems)s
<script type="application/json" id="report-data">%(data)s</script>
<script>
%(chartjs)s
</script>
<script>
%(code)s
</script>
</body>
</html>
"""

_CODE = r"""
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var colours = {success: '#2e7d32', failed: '#c62828',
                 reverted: '#ef6c00', skipped: '#9e9e9e', other: '#1565c0'};
  var names = {success: 'success', failed: 'failed', reverted: 'reverted',
               skipped: 'skipped', other: 'other'};
  var datasets = [];
  Object.keys(names).forEach(function (category) {
    var bars = data.bars.filter(function (b) {
      return b.category === category;
    });
    if (!bars.length) { return; }
    datasets.push({
      type: 'bar', label: names[category], grouped: false,
      backgroundColor: colours[category] + (category === 'skipped' ?
                                             '66' : 'cc'),
      borderColor: colours[category], borderWidth: 1, barPercentage: 0.6,
      data: bars.map(function (b) {
        return {x: [b.start, Math.max(b.end, b.start)], y: b.row, bar: b};
      })
    });
  });
  datasets.push({
    type: 'scatter', label: 'RTO target', pointStyle: 'line',
    rotation: 90, radius: 14, hoverRadius: 16, borderWidth: 3,
    borderColor: '#d50000', backgroundColor: '#d50000',
    data: data.targets.map(function (t) { return {x: t.x, y: t.row}; })
  });
  datasets.push({
    type: 'scatter', label: 'RTO measured', pointStyle: 'rectRot',
    radius: 5, borderColor: '#000', backgroundColor: '#000',
    data: data.measured.map(function (t) { return {x: t.x, y: t.row}; })
  });
  var marked = {
    id: 'geoflowsRendered',
    afterRender: function (chart) {
      document.body.dataset.rendered = String(
        chart.scales.y.getLabels().length);
    }
  };
  var chart = new Chart(document.getElementById('timeline'), {
    data: {labels: data.rows, datasets: datasets},
    plugins: [marked],
    options: {
      indexAxis: 'y', animation: false, responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: {type: 'linear', min: 0, beginAtZero: true,
            title: {display: true, text: 'seconds from the job\u2019s start'}},
        y: {type: 'category', labels: data.rows,
            ticks: {autoSkip: false}}
      },
      plugins: {
        tooltip: {callbacks: {label: function (item) {
          var b = item.raw.bar;
          if (b) {
            return b.step + ' (' + b.unit + '): ' + b.state + ', ' +
              b.start + 's \u2192 ' + b.end + 's';
          }
          return item.dataset.label + ': ' + item.raw.x + 's';
        }}}
      }
    }
  });
  window.geoflowsChart = chart;
})();
"""


def _e(value):
    return html_mod.escape('-' if value is None else str(value), quote=True)


def _cells(values, classes=None):
    classes = classes or {}
    return ''.join(
        '<td%s>%s</td>' % (' class="%s"' % classes[i] if i in classes else '',
                           _e(v))
        for i, v in enumerate(values))


def html(report):
    """One self-contained HTML page of the report (no network needed)."""
    title = '%s of plan %s, job %s: %s' % (
        report['operation'], report['plan'], report['id'], report['state'])
    meta = ''.join('<tr><td>%s</td><td>%s</td></tr>\n' % (_e(k), _e(v))
                   for k, v in (('job', report['id']),
                                ('operation', report['operation']),
                                ('plan', report['plan']),
                                ('state', report['state']),
                                ('started', report['started_at']),
                                ('finished', report['finished_at']),
                                ('duration (s)', report['duration'])))
    rows = []
    for row, vnf in zip(table_rows(report), vnf_rows(report)):
        classes = {}
        if vnf['rto_met'] is not None:
            classes[7] = 'good' if vnf['rto_met'] else 'bad'
        if vnf['ready'] is False:
            classes[4] = 'bad'
        rows.append('<tr>%s</tr>' % _cells(row, classes))
    verify = []
    for group in report['groups']:
        said = group['verify']
        text = _e(said['verdict'])
        if said['differences']:
            text += '<pre>%s</pre>' % '\n'.join(
                _e(d) for d in said['differences'])
        verify.append('<tr><td>%s</td><td>%s</td><td%s>%s</td></tr>' % (
            _e(group['group']), _e(group['checkpoint']),
            '' if said['verdict'] == 'clean' else ' class="bad"', text))
    if report['problems']:
        problems = '<table id="problems">\n<tr>%s</tr>\n%s\n</table>' % (
            ''.join('<th>%s</th>' % _e(h) for h in PROBLEM_HEADINGS),
            '\n'.join('<tr>%s</tr>' % _cells(row)
                      for row in problem_rows(report)))
    else:
        problems = '<p id="problems">Nothing failed or was skipped.</p>'
    chart = _chart_data(report)
    return _PAGE % {
        'title': _e(title), 'meta': meta,
        'height': 90 + 34 * max(1, len(chart['rows'])),
        'headings': ''.join('<th>%s</th>' % _e(h) for h in TABLE_HEADINGS),
        'rows': '\n'.join(rows), 'verify': '\n'.join(verify),
        'problems': problems, 'data': _script_json(chart),
        'chartjs': _chart_js(), 'code': _CODE}
