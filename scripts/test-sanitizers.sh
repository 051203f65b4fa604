#!/usr/bin/env bash
# The test suite again under sanitizers (CI runs this after the normal ctest):
#   build-asan  AddressSanitizer + UndefinedBehaviorSanitizer (any UB is fatal):
#               every test, unit and e2e, the qtool binary included.
#   build-tsan  ThreadSanitizer: the tests that translate from several threads
#               with one loaded model (std::threads; see docs/loader-rules.md,
#               "Sanitizers"), the public API's concurrent calls included.
# The packaging tests (install, exported symbols, Python module) are not
# registered in sanitizer builds (tests/api/CMakeLists.txt).
# QTOOL_E2E_SENTENCES (default 100 here) cuts the e2e test sets (every path
# still runs); QTOOL_SANITIZERS=asan|tsan runs one of the two.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
export QTOOL_E2E_SENTENCES="${QTOOL_E2E_SENTENCES:-100}"
which="${QTOOL_SANITIZERS:-asan tsan}"

build() {  # dir, sanitizers, targets...
  local dir="$1" san="$2"
  shift 2
  mkdir -p "$dir"
  echo "sanitizers: building $dir ($san; log: $dir/build.log)" >&2
  # -O1: a fast build, still fast tests; -g1: line numbers in reports; no
  # NDEBUG, so assertions run too.
  if ! { cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Sanitize "-DQTOOL_SANITIZE=$san" \
           "-DCMAKE_CXX_FLAGS_SANITIZE=-O1 -g1" "-DCMAKE_C_FLAGS_SANITIZE=-O1 -g1" &&
         cmake --build "$dir" -j"$jobs" ${1:+--target "$@"}; } >"$dir/build.log" 2>&1; then
    grep -E "error|Error" "$dir/build.log" | head -40 >&2 || tail -40 "$dir/build.log" >&2
    echo "sanitizer build failed; see $dir/build.log" >&2
    exit 1
  fi
}

supp="$PWD/scripts/sanitizer-suppressions"
if [[ " $which " == *" asan "* ]]; then
  build build-asan "address;undefined"
  # detect_leaks: leaks are bugs too; the suppressions name third-party libraries only.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
  export LSAN_OPTIONS="suppressions=$supp/lsan.txt:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  (cd build-asan && ctest --output-on-failure --timeout 1800 -E '^test_e2e_pipeline$')
  # `qtool pipeline` (ten stages in one process) makes LeakSanitizer's own
  # exit-time tracer crash ("Tracer caught signal 11", exit 134; reproducible
  # since 2026-12-06, cause not found yet, and not a leak report): that one
  # test runs with ASan and UBSan but without the leak scan.
  (cd build-asan && ASAN_OPTIONS="${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}" \
    ctest --output-on-failure --timeout 1800 -R '^test_e2e_pipeline$')
fi
if [[ " $which " == *" tsan "* ]]; then
  build build-tsan thread test_runtime_parallel test_export_concurrency test_e2e_reference test_api
  # The runtime's pool, streams and the tests' threads are qtool's own, all
  # checked here. One OpenMP thread per thread for the rest: libgomp is not
  # instrumented, so its teams' hand-overs would look like races.
  export OMP_NUM_THREADS=1
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.txt"
  echo "sanitizers: ThreadSanitizer tests" >&2
  build-tsan/tests/runtime/test_runtime_parallel
  build-tsan/tests/export/test_export_concurrency
  build-tsan/tests/e2e/test_e2e_reference --test-case="parallel batch streams*"
  build-tsan/tests/api/test_api --test-case="concurrent calls*"
fi
echo "sanitizers: all passed" >&2
