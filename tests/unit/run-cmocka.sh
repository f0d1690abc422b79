#!/usr/bin/env bash
# Runs one cmocka test program for CTest and records each of its cases in
# $AMIBOX_CASES_FILE ("pass NAME" / "fail NAME"), so that `make check`
# counts cases, not programs.  The program's output passes through.
set -uo pipefail
name=$1; shift
out=$(mktemp)
"$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
if [ -n "${AMIBOX_CASES_FILE:-}" ]; then
  # "[       OK ] test_x" once per passed case; "[  FAILED  ] test_x" for a
  # failed one (listed again in the summary, so each name counts once).
  awk -v prog="$name" '
    /^\[       OK \] / { print "pass " prog ":" $4 }
    /^\[  FAILED  \] [A-Za-z_]/ && !seen[$4]++ { print "fail " prog ":" $4 }
  ' "$out" >>"$AMIBOX_CASES_FILE"
fi
rm -f "$out"
exit "$status"
