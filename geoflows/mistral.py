"""What geoflows tells Mistral about a job: its outcome and report.

Shared by the Mistral actions (geoflows.actions), which return it from the
executor, and by conductors, which report the outcome of a job a Mistral
action submitted (an asynchronous action execution) through Mistral's API.
"""

import json
import logging
import time

import requests

from geoflows import jobs
from geoflows import secrets

LOG = logging.getLogger(__name__)

_NEXT_STEP = {
    jobs.REVERTED: 'everything it did was undone; fix the cause and start '
                   'it again',
    jobs.FAILED: 'what it did is kept for inspection; finish it with the '
                 'geoflows.job.resume action (or "geoflows job resume {id}") '
                 'or undo it with geoflows.job.revert (or "geoflows job '
                 'revert {id}")',
    jobs.SUSPENDED: 'it was stopped on request; finish it with '
                    'geoflows.job.resume or undo it with geoflows.job.revert',
    jobs.RUNNING: 'it is still running elsewhere; ask its status with '
                  'geoflows.job.status',
    jobs.PENDING: 'it has not started',
}


def report(job):
    """The JSON report of ``job`` (what the workbooks publish as output)."""
    return job.to_dict()


def error_message(job, wanted):
    """Why ``job`` did not end ``wanted``, and what to do now."""
    text = 'geoflows job %s (%s of plan %r) ended %s' % (
        job.id, job.operation, job.plan_name, job.display_state)
    if job.error:
        text += ': %s' % job.error
    hint = _NEXT_STEP.get(job.state)
    if hint:
        text += ' (%s)' % hint.format(id=job.id)
    if job.state == jobs.SUCCESS and wanted != jobs.SUCCESS:
        text += ' (expected %s)' % wanted
    return secrets.mask(text)


def outcome(job, wanted=jobs.SUCCESS):
    """``(True, report)`` if ``job`` ended ``wanted``.

    Otherwise ``(False, {'message': ..., 'job': report})``.
    """
    if job.state == wanted:
        return True, report(job)
    return False, {'message': error_message(job, wanted),
                   'job': report(job)}


def notify_target(execution_context):
    """Whom to tell the outcome of a job started by an async action.

    Only ids: the token of the action's caller expires and is a secret, so
    the conductor authenticates with its own [mistral] credentials.
    """
    return {'mistral': {
        'action_execution_id': execution_context.action_execution_id,
        'callback_url': execution_context.callback_url}}


class ReportError(Exception):
    """Mistral did not take a job's outcome."""


def _base_url(group, session):
    if group.url:
        url = group.url.rstrip('/')
    elif session is not None:
        url = session.get_endpoint(service_type='workflowv2',
                                   interface='public')
        if not url:
            raise ReportError('the catalog of [mistral] cloud %r has no '
                              'workflowv2 endpoint; set [mistral] url'
                              % group.cloud)
        url = url.rstrip('/')
    else:
        raise ReportError('[mistral] url is not set (nor [mistral] cloud)')
    # The callback URL is absolute from the API root ("/v2/...").
    if url.endswith('/v2'):
        url = url[:-3]
    return url


def _session(group, clouds):
    if not group.cloud:
        return None
    return clouds.connection({'name': '[mistral] cloud',
                              'cloud': group.cloud}).session


def send(group, clouds, notify, job, wanted=jobs.SUCCESS, sleep=time.sleep):
    """Report ``job``'s outcome to the Mistral action in ``notify``.

    ``group`` is the [mistral] configuration; ``clouds`` gives the session
    of [mistral] cloud.  Tries [mistral] report_attempts times, then raises
    :class:`ReportError` naming the command that completes it by hand.
    """
    target = notify['mistral']
    ok, data = outcome(job, wanted)
    body = {'state': 'SUCCESS' if ok else 'ERROR',
            'output': json.dumps(data)}
    last = None
    for attempt in range(group.report_attempts):
        if attempt:
            sleep(min(2 ** attempt, 30))
        try:
            session = _session(group, clouds)
            url = _base_url(group, session) + target['callback_url']
            if session is not None:
                response = session.put(url, json=body, raise_exc=False)
            else:
                response = requests.put(url, json=body, timeout=30)
            if response.status_code < 300:
                LOG.info('job %s: reported %s to Mistral action execution '
                         '%s', job.id, body['state'],
                         target['action_execution_id'])
                return
            last = 'HTTP %d: %s' % (response.status_code,
                                    response.text[:300])
            if response.status_code in (400, 404):
                break  # the action execution is gone or already complete
        except ReportError as e:
            last = str(e)
            break
        except Exception as e:  # unreachable API, Keystone refusing, ...
            last = '%s: %s' % (type(e).__name__, e)
    raise ReportError(secrets.mask(
        'could not report job %s (%s) to Mistral action execution %s: %s; '
        'complete it by hand with "openstack workflow action execution '
        'update --state %s %s"' % (job.id, job.state,
                                   target['action_execution_id'], last,
                                   body['state'],
                                   target['action_execution_id'])))
