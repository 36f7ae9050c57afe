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

# Under the sanitizers: every test whose name says it handles hostile, malformed, truncated or
# mutated input. (ctest's regex is case-sensitive, hence both spellings; "truncated_" and
# "TruncatedAnd" leave out tests that merely truncate something, like sampler candidates.)
sanitized='([Hh]ostile|[Mm]alformed|[Tt]runcated_|[Tt]runcatedAnd|[Mm]utat|BadFiles|[Ff]uzz)'
echo "== Sanitizer build (ASan + UBSan)"
cmake --preset asan >/dev/null
# Only the test programs whose TEST lines name such tests (the libraries and limarp are built
# either way).
targets=$(grep -lE "^TEST(_F|_P)?\(.*$sanitized" tests/*/*_test.cc | cut -d/ -f2 | sort -u | sed 's/^/test_/')
cmake --build --preset asan -j "$jobs" --target limarp $targets
echo "== Sanitizer tests: $sanitized"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$jobs" --timeout 900 -R "$sanitized"

# AArch64: the layers up to model and tokenizer cross-compiled, their tests under qemu-user
# (NEON kernels against their scalar twins included). Only what those tests need is built.
if command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null; then
  echo "== AArch64 cross build (layers only)"
  cmake --preset aarch64 >/dev/null
  cmake --build --preset aarch64 -j "$jobs"
  echo "== AArch64 tests under qemu-user"
  ctest --preset aarch64 -j "$jobs" --timeout 900
else
  echo "== AArch64: skipped (aarch64-linux-gnu-g++ or qemu-aarch64 missing; scripts/setup.sh installs them)"
fi
