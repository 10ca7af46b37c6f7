#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang in their own build directory and runs each
# for FUZZ_SECONDS (default 20; CI and `make test` use 60) on a copy of its seed corpus, failing on the
# first crash, leak or sanitizer report. Crashing inputs are kept in $FUZZ_BUILD/artifacts/.
set -eu
cd "$(dirname "$0")/.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
JOBS=${JOBS:-2}
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "fuzz: $CLANG not found (scripts/install-test-deps.sh installs it)" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 77
fi
CC="$CLANG" cmake -S . -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=Debug -DFUZZ=ON >/dev/null
cmake --build "$FUZZ_BUILD" -j "$JOBS" >/dev/null
mkdir -p "$FUZZ_BUILD/artifacts" "$FUZZ_BUILD/logs"
status=0
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  bin="$FUZZ_BUILD/$name"
  work="$FUZZ_BUILD/corpus/$name"
  mkdir -p "$work"
  [ -d "tests/fuzz/corpus/$name" ] && cp -R "tests/fuzz/corpus/$name/." "$work/"
  echo "fuzz: $name for ${FUZZ_SECONDS}s"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$bin" -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
      -artifact_prefix="$FUZZ_BUILD/artifacts/$name-" -print_final_stats=1 "$work" \
      >"$FUZZ_BUILD/logs/$name.log" 2>&1; then
    echo "fuzz: $name FAILED (see $FUZZ_BUILD/logs/$name.log and $FUZZ_BUILD/artifacts/)" >&2
    tail -40 "$FUZZ_BUILD/logs/$name.log" >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$FUZZ_BUILD/logs/$name.log" | tr '\n' ' '
    echo
  fi
done
exit $status
