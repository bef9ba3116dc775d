#!/usr/bin/env bash
# Build rlpsy with AddressSanitizer + UndefinedBehaviorSanitizer and run the
# whole testthat suite (and, optionally, the fuzz driver) under it.
#
#   bash tools/sanitize.sh            # test suite
#   FUZZ_N=1000 bash tools/sanitize.sh  # also tools/fuzz.R with 1000 inputs
#
# Needs gcc's sanitizer runtimes (Debian: they come with gcc 12, libasan8 /
# libubsan1). R itself is not instrumented, so libasan is preloaded and leak
# detection is off (R frees much of its memory only at exit). Any ASan or
# UBSan report makes the script fail; the reports are collected in
# $work/sanitizer.log. The package is copied to a temporary directory and
# installed into a temporary library, so the source tree is not touched.
set -uo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="${SANITIZE_WORK:-$(mktemp -d)}"
mkdir -p "$work/pkg" "$work/lib"
(cd "$src" && tar --exclude=.git --exclude='*.o' --exclude='*.so' -cf - .) |
  (cd "$work/pkg" && tar -xf -)
rm -f "$work/pkg/src/"*.o "$work/pkg/src/"*.so

flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1"
cat >"$work/Makevars" <<EOF
CXXFLAGS = $flags
CXX11FLAGS = $flags
CXX14FLAGS = $flags
CXX17FLAGS = $flags
CFLAGS = $flags
LDFLAGS = -fsanitize=address,undefined
EOF

libasan="$(gcc -print-file-name=libasan.so)"
libubsan="$(gcc -print-file-name=libubsan.so)"
if [ ! -e "$libasan" ] || [ ! -e "$libubsan" ]; then
  echo "sanitize.sh: gcc's libasan/libubsan not found (apt-get install gcc)" >&2
  exit 2
fi

echo "== building with $flags into $work/lib"
R_MAKEVARS_USER="$work/Makevars" R CMD INSTALL --no-test-load --preclean \
  --library="$work/lib" "$work/pkg" >"$work/install.log" 2>&1 || {
  tail -n 40 "$work/install.log"; exit 1; }
grep -q -- "-fsanitize=address" "$work/install.log" || {
  echo "sanitize.sh: the sanitizer flags did not reach the compiler" >&2; exit 1; }

export LD_PRELOAD="$libasan $libubsan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$work/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$work/ubsan"
export NOT_CRAN=true
export RLPSY_SANITIZER=true   # lets tests skip what ASan cannot run (ulimit -v)

echo "== running the test suite under the sanitizers"
(cd "$work/pkg/tests/testthat" && Rscript -e "
  .libPaths(c('$work/lib', .libPaths()))
  library(testthat)
  res <- as.data.frame(test_dir('.', package = 'rlpsy', load_package = 'installed',
                                reporter = ProgressReporter\$new(show_praise = FALSE),
                                stop_on_failure = FALSE))
  cat(sprintf('\nTESTS: %d passed, %d failed, %d skipped, %d errors\n',
      sum(res\$passed), sum(res\$failed), sum(res\$skipped), sum(res\$error)))
  quit(status = as.integer(sum(res\$failed) + sum(res\$error) > 0))
") 2>&1 | tee "$work/tests.log"
status=${PIPESTATUS[0]}

if [ -n "${FUZZ_N:-}" ]; then
  echo "== fuzzing with $FUZZ_N inputs under the sanitizers"
  RLPSY_LIB="$work/lib" Rscript "$work/pkg/tools/fuzz.R" "$FUZZ_N" 2>&1 | tee "$work/fuzz.log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi

cat "$work"/asan.* "$work"/ubsan.* 2>/dev/null >"$work/sanitizer.log"
if grep -qE "ERROR: AddressSanitizer|runtime error:" "$work/sanitizer.log" "$work/tests.log" 2>/dev/null; then
  echo "== sanitizer reports (see $work/sanitizer.log):"
  grep -hE "ERROR: AddressSanitizer|runtime error:" "$work/sanitizer.log" "$work/tests.log" | sort | uniq -c | head -n 40
  status=1
else
  echo "== no AddressSanitizer or UndefinedBehaviorSanitizer reports"
fi
echo "== logs in $work"
exit "$status"
