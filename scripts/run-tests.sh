#!/usr/bin/env bash
# Runs every test of one build directory with CTest and ends with the line
# "N passed, N failed", counting test cases: every cmocka case, every
# unittest case, every JS SDK step and every check line of a shell script
# (each records itself in $AMIBOX_CASES_FILE).  A program that fails without
# recording a failed case counts as one failed case, so a crash is never
# hidden.  Exit status: 0 only when nothing failed.
set -uo pipefail
build=${1:-build}
log=$(mktemp)
AMIBOX_CASES_FILE=$(mktemp)
export AMIBOX_CASES_FILE
ctest --test-dir "$build" --output-on-failure -j "${AMIBOX_TEST_JOBS:-2}" 2>&1 | tee "$log"
programs_failed=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(\*\*\*|Failed|Timeout|Not Run)' "$log")
passed=$(grep -c '^pass ' "$AMIBOX_CASES_FILE")
failed=$(grep -c '^fail ' "$AMIBOX_CASES_FILE")
if [ "$programs_failed" -gt "$failed" ]; then
  failed=$programs_failed
fi
if [ "$failed" -gt 0 ]; then
  echo "failed cases:"
  grep '^fail ' "$AMIBOX_CASES_FILE" | sed 's/^fail /  /'
fi
rm -f "$log" "$AMIBOX_CASES_FILE"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$programs_failed" -eq 0 ] && [ "$passed" -gt 0 ]
