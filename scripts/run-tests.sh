#!/usr/bin/env bash
# Runs every test of one build directory with CTest and ends with the line
# "N passed, N failed".  Exit status: 0 only when nothing failed.
set -uo pipefail
build=${1:-build}
log=$(mktemp)
ctest --test-dir "$build" --output-on-failure -j "${AMIBOX_TEST_JOBS:-2}" 2>&1 | tee "$log"
passed=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "$log")
failed=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(\*\*\*|Failed|Timeout|Not Run)' "$log")
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
