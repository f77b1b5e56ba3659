#!/usr/bin/env bash
# The whole test suite (called by `npm test` after scripts/setup.sh). Every file test/**/*.test.ts runs
# under node's test runner with tsx; OMNI_SMOKE=1 makes notebooks and end-to-end scripts use their
# smoke size.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMNI_SMOKE=1
# When the set-up built the native addon, its tests must load it (no silent fallback to wasm).
if [ -f node_modules/.omni-native-ok ]; then export OMNI_REQUIRE_NATIVE=1; fi
# The smoke corpus and the smoke preset's pretrained models, once, before files that may run side by side.
node --import tsx test/helpers/smoke-models.ts
mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files under test/" >&2; exit 1; fi
exec node --import tsx --test --test-reporter=spec "${files[@]}"
