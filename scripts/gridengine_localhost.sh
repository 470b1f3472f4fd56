#!/usr/bin/env bash
# Install, configure and start a single-node Grid Engine (Debian packages) on this machine, as root.
#
# Safe to run again: it installs what is missing, rewrites configuration that differs, starts daemons
# that are down, and ends by running one job (qsub -sync y /bin/true). Exit 0 only if that job ran.
# Progress goes to stderr; stdout carries only `export` lines, so a shell can take the environment
# the DRMAA library needs with:
#     eval "$(sudo bash scripts/gridengine_localhost.sh)"
#
#   --stop    stop execd and qmaster, then exit
#   --start   the default: install/configure/start
# Environment: SGE_QUEUE (default all.q), SGE_SLOTS (default 4).
#
# Why it looks the way it does:
#  - Every Grid Engine name for this machine is "localhost": the cell's host_aliases file maps the real
#    host name onto it. Otherwise the qmaster refuses clients whose address reverse-resolves to a name
#    different from the one they announce (127.0.0.1 -> "localhost" vs `hostname`).
#  - min_uid/min_gid 0 so root may run jobs; set before execd starts (a running execd keeps the old
#    value and puts the queue in error state on the first root job).
#  - ENABLE_ADDGRP_KILL: stopping a job also kills processes that left its process group (setsid).
#  - One-second scheduling so a job starts about 0.1 s after submission instead of up to 15 s.
#  - Packages are installed with service start-up denied and the daemons are started directly: the
#    Debian init scripts' "already running" checks do not work without systemd.
set -euo pipefail

export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
COMMON=$SGE_ROOT/$SGE_CELL/common
SPOOL=/var/spool/gridengine
HOST=localhost
QUEUE=${SGE_QUEUE:-all.q}
SLOTS=${SGE_SLOTS:-4}
LIBDRMAA=/usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0
PACKAGES=(gridengine-master gridengine-exec gridengine-client gridengine-drmaa1.0)

say() { echo "gridengine: $*" >&2; }
fail() { say "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "run this as root"

WORK=$(mktemp -d)
OWN_POLICY=0
cleanup() { [ "$OWN_POLICY" = 0 ] || rm -f /usr/sbin/policy-rc.d; rm -rf "$WORK"; }
trap cleanup EXIT

qmaster_answers() { qping -info "$HOST" 6444 qmaster 1 >/dev/null 2>&1; }
qmaster_up() { qmaster_answers && qstat >/dev/null 2>&1; }
execd_up() { qping -info "$HOST" 6445 execd 1 >/dev/null 2>&1; }
until_true() {  # until_true SECONDS COMMAND...: retry every 0.2 s
    local end=$(( $(date +%s) + $1 )); shift
    until "$@"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.2; done
}
not() { ! "$@"; }

stop_daemons() {
    command -v qconf >/dev/null 2>&1 || return 0
    if execd_up; then say "stopping execd"; qconf -ke "$HOST" >/dev/null 2>&1 || true
        until_true 30 not execd_up || say "execd still answers"; fi
    if qmaster_answers; then
        say "stopping qmaster (takes about 10 s)"; qconf -km >/dev/null 2>&1 || true
        until_true 40 not qmaster_answers || say "qmaster still answers"; fi
}

case "${1:---start}" in
    --stop) stop_daemons; exit 0 ;;
    --start) ;;
    *) fail "unknown option $1 (use --start or --stop)" ;;
esac

# ---- host names: everything is "localhost"; the real names are aliases of it
NAME=$(hostname)
getent hosts "$NAME" >/dev/null 2>&1 || { say "adding '127.0.0.1 $NAME' to /etc/hosts"; echo "127.0.0.1 $NAME" >> /etc/hosts; }
ALIASES=$HOST
for alias in "$NAME" "$(hostname -f 2>/dev/null || true)" \
             $(getent ahostsv4 "$NAME" 2>/dev/null | awk '{print $1}' | sort -u | xargs -r -n1 getent hosts | awk '{print $2}'); do
    case " $ALIASES " in *" $alias "*) ;; *) [ -z "$alias" ] || ALIASES="$ALIASES $alias" ;; esac
done
CELL_CHANGED=0
write_cell() {  # write_cell FILE CONTENT
    if [ "$(cat "$COMMON/$1" 2>/dev/null || true)" != "$2" ]; then
        mkdir -p "$COMMON"; echo "$2" > "$COMMON/$1"; chmod 644 "$COMMON/$1"; CELL_CHANGED=1
    fi
    # The qmaster (running as sgeadmin) rewrites act_qmaster; the user exists only after the install.
    ! id sgeadmin >/dev/null 2>&1 || chown sgeadmin:sgeadmin "$COMMON/$1"
}
# Written before the packages are installed too, so their cluster set-up already uses them.
write_cell host_aliases "$ALIASES"
write_cell act_qmaster "$HOST"

# ---- packages
MISSING=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || MISSING+=("$pkg")
done
if [ ${#MISSING[@]} -gt 0 ]; then
    say "installing ${MISSING[*]}"
    printf '%s\n' "gridengine-common shared/gridengineconfig boolean true" \
        "gridengine-common shared/gridenginecell string $SGE_CELL" \
        "gridengine-common shared/gridenginemaster string $HOST" | debconf-set-selections
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; OWN_POLICY=1
    fi
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${MISSING[@]}"; } >&2 \
        || fail "apt-get install failed"
    [ "$OWN_POLICY" = 0 ] || { rm -f /usr/sbin/policy-rc.d; OWN_POLICY=0; }
    CELL_CHANGED=0
fi
[ -e "$LIBDRMAA" ] || fail "$LIBDRMAA is missing (package gridengine-drmaa1.0)"
write_cell host_aliases "$ALIASES"
write_cell act_qmaster "$HOST"

if [ -z "$(ls -A "$SPOOL/spooldb" 2>/dev/null)" ]; then
    say "creating the cluster spool"
    mkdir -p "$SPOOL/spooldb" "$SPOOL/qmaster/job_scripts" "$SPOOL/execd"
    chown -R sgeadmin:sgeadmin "$SPOOL"
    su -s /bin/sh -c "/usr/share/gridengine/scripts/init_cluster $SGE_ROOT $SGE_CELL $SPOOL/spooldb sgeadmin" \
        sgeadmin >&2
fi

# ---- qmaster
if [ "$CELL_CHANGED" = 1 ]; then stop_daemons; fi
if ! qmaster_up; then
    say "starting sge_qmaster"
    mkdir -p /var/run/gridengine; chown sgeadmin:sgeadmin /var/run/gridengine
    /usr/sbin/sge_qmaster >&2 || fail "sge_qmaster did not start (see $SPOOL/qmaster/messages)"
    until_true 60 qmaster_up || { tail -20 "$SPOOL/qmaster/messages" >&2 || true; fail "qmaster is not answering"; }
fi
qconf -sh 2>/dev/null | grep -qx "$HOST" || qconf -ah "$HOST" >&2
qconf -ss 2>/dev/null | grep -qx "$HOST" || qconf -as "$HOST" >&2

# ---- global and scheduler configuration (file names matter: qconf -Mconf takes the name from it)
set_keys() {  # set_keys FILE key=value...: replace or append "key value" lines; returns 0 if changed
    local file=$1 changed=1 kv key value; shift
    for kv in "$@"; do
        key=${kv%%=*}; value=${kv#*=}
        if ! grep -Eq "^$key +$value\$" "$file"; then
            changed=0
            if grep -Eq "^$key " "$file"; then sed -i "s|^$key .*|$key $value|" "$file"; else echo "$key $value" >> "$file"; fi
        fi
    done
    return $changed
}
qconf -sconf global > "$WORK/global"
if set_keys "$WORK/global" min_uid=0 min_gid=0 execd_params=ENABLE_ADDGRP_KILL=TRUE; then
    say "global configuration: root jobs allowed, whole-job kill"
    qconf -Mconf "$WORK/global" >&2
    if execd_up; then qconf -ke "$HOST" >/dev/null 2>&1 || true; until_true 30 not execd_up || true; fi
fi
qconf -ssconf > "$WORK/sched"
if set_keys "$WORK/sched" schedule_interval=0:0:1 flush_submit_sec=1 flush_finish_sec=1; then
    say "scheduler: one-second interval"; qconf -Msconf "$WORK/sched" >&2
fi

# ---- execd
if ! execd_up; then
    say "starting sge_execd"
    /usr/sbin/sge_execd >&2 || fail "sge_execd did not start"
    until_true 60 execd_up || fail "execd is not answering"
fi
until_true 20 sh -c "qconf -sel 2>/dev/null | grep -qx $HOST" || fail "execd did not register as exec host"

# ---- parallel environment and queue
cat > "$WORK/smp" <<EOF
pe_name smp
slots 999
user_lists NONE
xuser_lists NONE
start_proc_args NONE
stop_proc_args NONE
allocation_rule \$pe_slots
control_slaves FALSE
job_is_first_task TRUE
urgency_slots min
accounting_summary FALSE
qsort_args NONE
EOF
qconf -sp smp >/dev/null 2>&1 || qconf -Ap "$WORK/smp" >&2

if qconf -sq "$QUEUE" > "$WORK/q" 2>/dev/null; then NEW_QUEUE=0; else
    NEW_QUEUE=1; qconf -sq > "$WORK/q"   # without a name: the template queue
fi
if set_keys "$WORK/q" qname="$QUEUE" hostlist="$HOST" slots="$SLOTS" load_thresholds=NONE pe_list=smp \
        shell=/bin/sh || [ "$NEW_QUEUE" = 1 ]; then
    if [ "$NEW_QUEUE" = 1 ]; then say "creating queue $QUEUE ($SLOTS slots)"; qconf -Aq "$WORK/q" >&2
    else say "updating queue $QUEUE"; qconf -Mq "$WORK/q" >&2; fi
fi
queue_ready() { qstat -f -q "$QUEUE@$HOST" 2>/dev/null | awk -v q="$QUEUE@$HOST" '$1==q {s=$6; f=1} END {exit !(f && s !~ /u/)}'; }
until_true 60 queue_ready || say "queue $QUEUE@$HOST has not reported yet"
qmod -cq "$QUEUE" >/dev/null 2>&1 || true   # clear an error state left by an earlier failure
qmod -e "$QUEUE" >/dev/null 2>&1 || true

# ---- one real job
if ! (cd /tmp && timeout 120 qsub -sync y -b y -N gridengine_check -o /dev/null -e /dev/null /bin/true >&2); then
    qstat -f >&2 || true
    fail "the check job did not run"
fi
say "ready: queue $QUEUE on $HOST"
echo "export SGE_ROOT=$SGE_ROOT"
echo "export SGE_CELL=$SGE_CELL"
echo "export DRMAA_LIBRARY_PATH=$LIBDRMAA"
