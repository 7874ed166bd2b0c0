"""Errors that geoflows reports to its users.

Every error carries a message meant for an operator: what went wrong, where,
and what to do about it.  The CLI prints ``str(error)`` and never a traceback
for these.
"""


class GeoflowsError(Exception):
    """Base class of the errors geoflows reports."""


class ConfigError(GeoflowsError):
    """The configuration or the environment is not usable."""


class PlanError(GeoflowsError):
    """A plan could not be loaded or is not valid.

    ``problems`` lists every problem found, each a
    :class:`geoflows.plan.Problem` with its place in the file.
    """

    def __init__(self, source, problems):
        self.source = source
        self.problems = list(problems)
        lines = [p.format(source) for p in self.problems]
        super().__init__('%s is not a valid plan (%d problem%s):\n  %s' % (
            source, len(lines), '' if len(lines) == 1 else 's',
            '\n  '.join(lines)))


class SiteError(GeoflowsError):
    """A site could not be reached or refused a request."""

    def __init__(self, site, message):
        self.site = site
        super().__init__('site %r: %s' % (site, message))


class NotReady(GeoflowsError):
    """A resource has not reached the expected state yet (will be retried)."""


class ResourceError(GeoflowsError):
    """A resource is in a state geoflows cannot use (ERROR, foreign, ...)."""


class JobError(GeoflowsError):
    """A job cannot do what was asked (unknown id, wrong state, busy)."""


class JobNotFound(JobError):

    def __init__(self, job_id):
        super().__init__('no job %r in the state store; "geoflows job list" '
                         'shows the known jobs' % job_id)


class JobBusy(JobError):
    """Another live process holds the job or one of its resources."""


class AllocationError(GeoflowsError):
    """A pool (of route targets, ...) has no free value left."""


class PreflightError(GeoflowsError):
    """A job cannot start: what is wrong with its plan or its sites.

    Found by reading the sites before the job exists (nothing changed);
    ``problems`` are :class:`geoflows.plan.Problem`, placed in the plan
    when its text is known.
    """

    def __init__(self, plan, operation, problems):
        from geoflows.plan import validate
        self.source = plan.source
        self.operation = operation
        self.problems = [validate.Problem(path, message,
                                          plan.position(path))
                         for path, message in problems]
        lines = [p.format(plan.source) for p in self.problems]
        super().__init__(
            'cannot start %s of plan %r: %d problem%s found before any '
            'change:\n  %s' % (operation, plan.name, len(lines),
                               '' if len(lines) == 1 else 's',
                               '\n  '.join(lines)))


class HookError(GeoflowsError):
    """A consistency hook failed, timed out or could not be run.

    The message names the hook point, the hook, the VNF and server, what
    happened and the end of the hook's output (secrets masked).  ``point``
    is the hook point, ``reason`` a short code (``exit``, ``signal``,
    ``timeout``, ``not_found``, ``not_executable``, ``exec``, ``secret``,
    ``http``, ``redirect``, ``tls``, ``connect``, ``request``,
    ``verdict``), ``result`` the failed hook's result and ``results`` the
    whole point's, as JSON-able dicts (see :mod:`geoflows.hooks`).
    """

    def __init__(self, message, point=None, reason=None, result=None,
                 results=None):
        super().__init__(message)
        self.point = point
        self.reason = reason
        self.result = result
        self.results = results
