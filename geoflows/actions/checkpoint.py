"""geoflows.checkpoint.* actions: the checkpoints in the state store."""

from geoflows.actions import base
from geoflows.actions import protection
from geoflows import checkpoints
from geoflows import exceptions
from geoflows import secrets

#: at most this many checkpoints in one result
MAX_LIMIT = 1000
STATES = (checkpoints.COMPLETE, checkpoints.EXPIRED, checkpoints.OPEN,
          checkpoints.PRUNED)


class ListCheckpoints(base.GeoflowsAction):
    """The checkpoints of a plan (or of all plans), newest first.

    Each with its id, plan, group, sync job, source and target sites,
    state, when it was created, consistent and completed, and the names of
    its VNFs (not the recorded metadata: ``geoflows checkpoint show``).

    :param plan_name: the plan's name (default: every plan).
    :param group: a protection group of that plan (default: all).
    :param states: the states to list (default: ``[complete]``; also
        ``expired``, ``open``, ``pruned``).
    :param limit: at most this many (default 20, at most 1000).
    """

    def __init__(self, plan_name=None, group=None, states=None, limit=20):
        super().__init__()
        self.plan_name = plan_name
        self.group = group
        self.states = states
        self.limit = limit

    def execute(self, context):
        protection.check_name(self.plan_name, '"plan_name"')
        protection.check_name(self.group, '"group"')
        states = self.states if self.states is not None else [
            checkpoints.COMPLETE]
        if not isinstance(states, list) or not states or \
                not all(isinstance(s, str) and s in STATES for s in states):
            raise exceptions.GeoflowsError(
                '"states" must be a list of checkpoint states (%s), not %s'
                % (', '.join(STATES), protection._show(self.states)))
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) \
                or not 1 <= self.limit <= MAX_LIMIT:
            raise exceptions.GeoflowsError(
                '"limit" must be a whole number from 1 to %d, not %s'
                % (MAX_LIMIT, protection._show(self.limit)))
        store = base.runner().store
        found = checkpoints.listing(store, self.plan_name, self.group,
                                    states=tuple(states), limit=self.limit,
                                    with_vnfs=True)
        return secrets.mask_data({
            'plan': self.plan_name, 'group': self.group,
            'count': len(found),
            'checkpoints': [cp.to_dict() for cp in found]})
