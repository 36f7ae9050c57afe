#!/usr/bin/env bash
# Builds limarp and runs the whole test suite: the Release build with every test, then the
# sanitizer build (ASan + UBSan) for the tests that feed hostile input to the parsers.
# Usage: scripts/test.sh            (from anywhere; uses all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh

echo "== Release build"
cmake --preset release -DLIMARP_BUILD_TESTS=ON -DLIMARP_BUILD_BENCH=ON >/dev/null
cmake --build --preset release -j "$jobs"
echo "== Release tests"
ctest --preset release -j "$jobs" --timeout 900

# Under the sanitizers: every test whose name says it handles hostile or malformed input.
# (ctest's regex is case-sensitive, hence both spellings.)
sanitized='([Hh]ostile|[Mm]alformed|[Tt]runcat|[Mm]utat|BadFiles|[Ff]uzz)'
echo "== Sanitizer build (ASan + UBSan)"
cmake --preset asan >/dev/null
# Only the test programs that hold such tests (the libraries and limarp are built either way).
targets=$(grep -lE "$sanitized" tests/*/*_test.cc | cut -d/ -f2 | sort -u | sed 's/^/test_/')
cmake --build --preset asan -j "$jobs" --target limarp $targets
echo "== Sanitizer tests: $sanitized"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$jobs" --timeout 900 -R "$sanitized"
