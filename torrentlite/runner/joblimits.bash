# Read by bash (as BASH_ENV) before a plugin job's launch script: the job's limits, set on the script's own
# process before any of its commands run. `ulimit` without -S/-H sets the hard limit too: the job cannot
# raise it again. Nothing of this stays in the environment the script and its children see.
ulimit -c 0
if [ "${TORRENTLITE_JOB_AS_KIB:-unlimited}" != unlimited ]; then
    ulimit -v "$TORRENTLITE_JOB_AS_KIB" || exit 125
fi
unset BASH_ENV TORRENTLITE_JOB_AS_KIB
