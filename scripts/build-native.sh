#!/usr/bin/env bash
# Builds the native TensorFlow.js kernels (native/build/Release/omni_native.node) with npm's bundled
# node-gyp against Debian's OpenBLAS. Idempotent: node-gyp rebuilds only what changed.
# Exits non-zero with one clear line when it cannot build; the project then runs on `wasm`.
#   OMNI_MARCH=x86-64-v3 bash scripts/build-native.sh   # build for another ISA than this CPU
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "build-native: $*" >&2; exit 1; }

command -v node >/dev/null || fail "node not found"
command -v g++ >/dev/null || fail "g++ not found (apt-get install g++ make)"
command -v make >/dev/null || fail "make not found (apt-get install make)"
# OpenBLAS's cblas.h (it declares openblas_set_num_threads, which the reference CBLAS lacks).
TRIPLET="$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
OMNI_BLAS_INCLUDE=""
for dir in "/usr/include/$TRIPLET/openblas-pthread" "/usr/include/$TRIPLET" /usr/include/openblas /usr/include; do
  if [ -f "$dir/cblas.h" ] && grep -q openblas_set_num_threads "$dir/cblas.h"; then OMNI_BLAS_INCLUDE="$dir"; break; fi
done
[ -n "$OMNI_BLAS_INCLUDE" ] || fail "OpenBLAS headers not found (apt-get install libopenblas-dev)"
export OMNI_BLAS_INCLUDE

# npx node-gyp would try to download a newer node-gyp; npm ships one that works offline.
NPM_BIN="$(command -v npm || true)"
[ -n "$NPM_BIN" ] || fail "npm not found"
NPM_ROOT="$(cd "$(dirname "$(readlink -f "$NPM_BIN")")/.." && pwd)"
GYP="$NPM_ROOT/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$GYP" ] || GYP="$(dirname "$NPM_BIN")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$GYP" ] || fail "npm's bundled node-gyp not found (looked under $NPM_ROOT)"

# Node's own headers: the Debian/NodeSource layout puts them in /usr/include/node.
NODEDIR="${OMNI_NODEDIR:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")}"
[ -f "$NODEDIR/include/node/node_api.h" ] || NODEDIR=/usr
[ -f "$NODEDIR/include/node/node_api.h" ] || fail "Node headers not found under $NODEDIR/include/node"

cd native
mkdir -p build
# Reconfigure when binding.gyp or the header folder changed.
if [ ! -f build/Makefile ] || [ binding.gyp -nt build/Makefile ] || [ "$(cat build/blas-include 2>/dev/null)" != "$OMNI_BLAS_INCLUDE" ]; then
  node "$GYP" configure --nodedir="$NODEDIR" >build/configure.log 2>&1 ||
    { tail -20 build/configure.log >&2; fail "node-gyp configure failed (log: native/build/configure.log)"; }
  echo "$OMNI_BLAS_INCLUDE" >build/blas-include
fi
node "$GYP" build --nodedir="$NODEDIR" -j 2 >build/build.log 2>&1 ||
  { grep -E "error|Error" build/build.log | head -20 >&2; fail "compile failed (log: native/build/build.log)"; }
[ -f build/Release/omni_native.node ] || fail "build finished but build/Release/omni_native.node is missing"

# A library that links but cannot load (missing libopenblas.so.0) must fail here, not at run time.
node -e "const m = require('./build/Release/omni_native.node'); console.log('build-native: ok (' + m.blasConfig() + ')')" ||
  fail "built addon does not load"
