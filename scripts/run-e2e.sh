#!/usr/bin/env bash
# Runs the slow end-to-end tests (tests/e2e/t_*.sh: real guests booted to the
# end, minutes each) against one build directory, one after the other, and
# ends like scripts/run-tests.sh with "N passed, N failed", counting every
# check line.  What they build is cached outside the clone
# ($AMIBOX_E2E_CACHE, default ~/.cache/amibox), so a second run is faster.
set -uo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
AMIBOX_CASES_FILE=$(mktemp)
export AMIBOX_CASES_FILE AMIBOX_BIN=$build/amibox AMIBOX_SRC=$src
programs_failed=0
for test in "$src"/tests/e2e/t_*.sh; do
  echo "e2e: $(basename "$test")"
  start=$(date +%s)
  if (cd "$src" && bash "$test"); then
    echo "e2e: $(basename "$test") passed ($(( $(date +%s) - start )) s)"
  else
    echo "e2e: $(basename "$test") FAILED ($(( $(date +%s) - start )) s)"
    programs_failed=$((programs_failed + 1))
  fi
done
passed=$(grep -c '^pass ' "$AMIBOX_CASES_FILE")
failed=$(grep -c '^fail ' "$AMIBOX_CASES_FILE")
[ "$programs_failed" -gt "$failed" ] && failed=$programs_failed
if [ "$failed" -gt 0 ]; then
  echo "failed cases:"
  grep '^fail ' "$AMIBOX_CASES_FILE" | sed 's/^fail /  /'
fi
rm -f "$AMIBOX_CASES_FILE"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
