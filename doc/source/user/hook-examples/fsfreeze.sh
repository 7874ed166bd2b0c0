#!/bin/sh
# A geoflows command hook: freeze (quiesce) or thaw (unquiesce) the data
# file system of a VNF server over ssh, so that the volume copy taken in
# between is consistent.  In the plan, for the VNF:
#
#   hooks:
#     quiesce:   [{command: [/etc/geoflows/hooks/fsfreeze.sh], timeout: 30}]
#     unquiesce: [{command: [/etc/geoflows/hooks/fsfreeze.sh], timeout: 30}]
#
# It uses the GEOFLOWS_* variables; the same facts come as JSON on standard
# input.  It is idempotent, as hooks must be: freezing a frozen file system
# or thawing a thawed one succeeds.
set -u

mount=${FREEZE_MOUNT:-/data}
ssh=${FREEZE_SSH:-ssh -o BatchMode=yes -o ConnectTimeout=10}
host=${FREEZE_HOST:-$GEOFLOWS_SERVER}

case $GEOFLOWS_HOOK_POINT in
quiesce) action=--freeze; done_already='Device or resource busy' ;;
unquiesce) action=--unfreeze; done_already='Invalid argument' ;;
*) echo "fsfreeze.sh is no $GEOFLOWS_HOOK_POINT hook" >&2; exit 2 ;;
esac

# $ssh is split into words on purpose (a command and its options).
# shellcheck disable=SC2086
if output=$($ssh "$host" sudo fsfreeze "$action" "$mount" 2>&1); then
    echo "$GEOFLOWS_HOOK_POINT $host:$mount: done"
    exit 0
fi
case $output in
*"$done_already"*)
    # Frozen (or thawed) by an earlier run of this hook.
    echo "$GEOFLOWS_HOOK_POINT $host:$mount: already done"
    exit 0 ;;
esac
echo "$GEOFLOWS_HOOK_POINT $host:$mount failed: $output" >&2
exit 1
