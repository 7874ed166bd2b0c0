#!/bin/sh
# A geoflows drain hook: during a failback, say whether the DR copy of a
# VNF server still carries sessions.  geoflows calls it again (paced) until
# it prints {"drained": true}; the last line of JSON it prints is its
# verdict.  In the plan:
#
#   hooks:
#     drain: [{command: [/etc/geoflows/hooks/drain-sessions.sh], timeout: 20}]
set -u

ssh=${DRAIN_SSH:-ssh -o BatchMode=yes -o ConnectTimeout=10}
host=${DRAIN_HOST:-$GEOFLOWS_SERVER}

# shellcheck disable=SC2086
sessions=$($ssh "$host" cat /run/vnf/active-sessions) || {
    echo "cannot read the session count of $host" >&2
    exit 1
}
echo "$host: $sessions active sessions" >&2
if [ "$sessions" -eq 0 ]; then
    echo '{"drained": true}'
else
    echo '{"drained": false}'
fi
