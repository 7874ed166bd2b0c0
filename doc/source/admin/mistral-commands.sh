# The client commands of the Mistral guide (doc/source/admin/mistral.rst
# shows them from this file, section by section).  The functional tests run
# every section below against a real Mistral, as written, with only the
# example values of the first section replaced by the test's own
# (tests/functional/test_mistral.py, TestGuideCommands): a command that
# does not exist, or does not do what the guide says, fails the tests.
#
# Sections start with "# [name]" and end at the next one; "# [end]" ends
# the last.

# [example-values]
# Values of the examples: your Mistral's address, the venv Mistral runs in,
# a plan file present on the executor hosts, a plan file on this host.
MISTRAL_URL=http://mistral.example.net:8989/v2
MISTRAL_VENV=/opt/mistral/venv
PLAN_FILE=/etc/geoflows/plans/dr.yaml
PLAN=plan.yaml
# The sync schedule of a cron trigger: here every 5 minutes (a group's
# sync_interval of 5m).
SYNC_PATTERN='*/5 * * * *'

# [client-install]
pip install python-openstackclient python-mistralclient

# [reach-keystone]
# Mistral in the Keystone catalog (service type workflowv2): any cloud of
# clouds.yaml (or OS_* variables) whose user may run workflows.
export OS_CLOUD=mycloud

# [reach-noauth]
# A Mistral with authentication off ([pecan] auth_enable = false).
export OS_AUTH_TYPE=none OS_ENDPOINT=$MISTRAL_URL

# [pack-install]
"$MISTRAL_VENV/bin/pip" install geoflows

# [pack-check]
openstack action definition list --filter name=has:geoflows -c Name

# [workbook-create]
WORKBOOKS=$("$MISTRAL_VENV/bin/python" -c 'import sys; print(sys.prefix)')/share/geoflows/workbooks
openstack workbook create "$WORKBOOKS/geoflows.interconnect.v1.yaml"
openstack workbook create "$WORKBOOKS/geoflows.protection.v1.yaml"
openstack workbook create "$WORKBOOKS/geoflows.takeover.v1.yaml"
openstack workbook create "$WORKBOOKS/geoflows.failback.v1.yaml"
openstack workbook create "$WORKBOOKS/geoflows.drill.v1.yaml"

# [workbook-update]
WORKBOOKS=$("$MISTRAL_VENV/bin/python" -c 'import sys; print(sys.prefix)')/share/geoflows/workbooks
openstack workbook update "$WORKBOOKS/geoflows.interconnect.v1.yaml"
openstack workbook update "$WORKBOOKS/geoflows.protection.v1.yaml"
openstack workbook update "$WORKBOOKS/geoflows.takeover.v1.yaml"
openstack workbook update "$WORKBOOKS/geoflows.failback.v1.yaml"
openstack workbook update "$WORKBOOKS/geoflows.drill.v1.yaml"

# [run-inline]
# The plan as YAML text in the input, from a JSON file (Python's standard
# library only): no limit of the command line applies to a file.
python3 -c 'import json, sys; print(json.dumps({"plan": open(sys.argv[1]).read()}))' "$PLAN" > setup-input.json
openstack workflow execution create geoflows.interconnect.v1.setup setup-input.json

# [run-plan-file]
openstack workflow execution create geoflows.interconnect.v1.check \
    "{\"plan_file\": \"$PLAN_FILE\"}"

# [follow]
openstack workflow execution show "$EXECUTION_ID"
openstack workflow execution output show "$EXECUTION_ID"

# [teardown-approval]
openstack workflow execution create geoflows.interconnect.v1.teardown \
    "{\"plan_file\": \"$PLAN_FILE\", \"require_approval\": true}"

# [decision-find]
openstack workflow execution list --filter state=RUNNING
openstack task execution list "$EXECUTION_ID"
openstack action execution list "$TASK_EXECUTION_ID"

# [decision-approve]
openstack action execution update --state SUCCESS "$ACTION_EXECUTION_ID"

# [decision-reject]
openstack action execution update --state ERROR \
    --output '{"reason": "not during the maintenance freeze"}' "$ACTION_EXECUTION_ID"

# [protect]
openstack workflow execution create geoflows.protection.v1.protect \
    "{\"plan_file\": \"$PLAN_FILE\", \"groups\": [\"core\"]}"

# [sync]
openstack workflow execution create geoflows.protection.v1.sync \
    "{\"plan_file\": \"$PLAN_FILE\", \"groups\": [\"core\"]}"

# [status]
openstack workflow execution create geoflows.protection.v1.status \
    "{\"plan_file\": \"$PLAN_FILE\"}"

# [cron-sync]
# Sync the group on a schedule: Mistral's engine starts the workflow at
# every time of the pattern (UTC), with this input.
openstack cron trigger create --pattern "$SYNC_PATTERN" dr-core-sync \
    geoflows.protection.v1.sync \
    "{\"plan_file\": \"$PLAN_FILE\", \"groups\": [\"core\"]}"

# [cron-status]
# Check the RPO every minute: an execution in ERROR is a violated RPO.
openstack cron trigger create --pattern '* * * * *' dr-rpo-check \
    geoflows.protection.v1.status "{\"plan_file\": \"$PLAN_FILE\"}"

# [cron-follow]
openstack cron trigger list
openstack cron trigger show dr-core-sync
openstack workflow execution list --filter workflow_name=geoflows.protection.v1.sync

# [cron-delete]
openstack cron trigger delete dr-core-sync dr-rpo-check

# [takeover-disaster]
# Take group core over at its DR site: the execution waits for the decision
# "declare disaster" (task declare_disaster: see decision-find), then
# fences the primary, takes over from the newest checkpoint, verifies and
# reports.
openstack workflow execution create geoflows.takeover.v1.disaster \
    "{\"plan_file\": \"$PLAN_FILE\", \"groups\": [\"core\"]}"

# [takeover-report]
# The report of a takeover job again (RPO and RTO per VNF), by its id (the
# output job_id of the takeover's execution).
openstack workflow execution create geoflows.takeover.v1.report \
    "{\"job_id\": \"$JOB_ID\"}"

# [failback-reprotect]
# After the takeover: group core replicates back to its primary, and a
# first reverse sync runs.
openstack workflow execution create geoflows.failback.v1.reprotect \
    "{\"plan_file\": \"$PLAN_FILE\", \"groups\": [\"core\"]}"

# [failback]
# Give group core back: the origin is built and checked, then the
# execution waits for the decision "approve de-link" (task approve_delink:
# see decision-find) before the DR site is drained and de-linked.
openstack workflow execution create geoflows.failback.v1.failback \
    "{\"plan_file\": \"$PLAN_FILE\", \"groups\": [\"core\"]}"

# [drill]
# Rehearse the takeover of group core in an isolated copy at its DR site,
# the service untouched; the copy is kept an hour for a look (without
# keep_for, or keep: true, it is removed at the drill's end).  The output's
# drill_id and cleanup name the cleanup to run.
openstack workflow execution create geoflows.drill.v1.drill \
    "{\"plan_file\": \"$PLAN_FILE\", \"groups\": [\"core\"], \"keep_for\": 3600}"

# [drill-cleanup]
# Remove the kept copy of a drill, by its id (the output drill_id of the
# drill's execution); the execution checks that nothing of it is left.
openstack workflow execution create geoflows.drill.v1.cleanup \
    "{\"drill\": \"$DRILL_ID\"}"

# [end]
