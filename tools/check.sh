#!/usr/bin/env bash
# README command 2: build the package and run R CMD check --as-cran with its
# tests and vignettes (no network needed). Fails on any ERROR or WARNING and
# ends with one line "N passed, N failed, N skipped" from testthat.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh || exit 1

work=$(mktemp -d)
R CMD build --no-manual . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
tarball=$(ls -t rlpsy_*.tar.gz | head -n 1)
mv "$tarball" "$work/"

export _R_CHECK_CRAN_INCOMING_REMOTE_=false
export _R_CHECK_SYSTEM_CLOCK_=0
export _R_CHECK_FORCE_SUGGESTS_=true
export NOT_CRAN=true
(cd "$work" && R CMD check --as-cran --no-manual "$tarball") | tee "$work/check.log"
status=${PIPESTATUS[0]}

rout=$(ls "$work"/rlpsy.Rcheck/tests/testthat.Rout* 2>/dev/null | head -n 1)
if [ -n "$rout" ]; then
  [ "$status" = 0 ] || tail -n 60 "$rout"
  summary=$(grep -E '\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]' "$rout" | tail -n 1)
fi
if grep -qE '^Status: .*(ERROR|WARNING)' "$work/check.log" || [ "$status" != 0 ]; then
  status=1
fi
if [ -n "${summary:-}" ]; then
  fail=$(sed -E 's/.*FAIL ([0-9]+).*/\1/' <<<"$summary")
  skip=$(sed -E 's/.*SKIP ([0-9]+).*/\1/' <<<"$summary")
  pass=$(sed -E 's/.*PASS ([0-9]+).*/\1/' <<<"$summary")
  echo "$pass passed, $fail failed, $skip skipped"
else
  echo "0 passed, 1 failed"
  status=1
fi
exit "$status"
