#!/usr/bin/env bash
# One idempotent set-up for a fresh clone: Debian packages, npm packages, the native addon, the
# library build for notebooks, and the tslab kernel in a repo-local Jupyter path.
# `npm run reproduce` and `npm test` both call it first; a second run only checks and skips.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
say() { printf '[setup] %s\n' "$*" >&2; }

# ---- 1. Debian packages -------------------------------------------------------------------------
# jupyter-*: headless notebook execution and `npm run lab`; chromium: plots to PNG; libopenblas-dev:
# the native kernels; ffmpeg: decoding real LRS2/LRS3 mp4; asterisk-moh-opsound-wav: real music noise.
APT_PACKAGES=(jupyter-nbconvert python3-nbclient jupyter-client jupyter-notebook chromium
  libopenblas-dev ffmpeg asterisk-moh-opsound-wav)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]}"
    say "run this, then run the command again:"
    printf '\n    sudo apt-get update && sudo apt-get install -y %s\n\n' "${missing[*]}" >&2
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- 2. npm packages ------------------------------------------------------------------------------
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's postinstall would fetch CUDA libraries (offline
# here); its CPU build ships in the package. The tfjs-node-gpu optional dependency downloads
# libtensorflow at install; offline that fails and npm drops it, which is expected.
lock_hash=$(sha256sum package-lock.json package.json | sha256sum | cut -c1-16)
stamp=node_modules/.omni-setup-npm
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  say "npm ci (package-lock.json changed or node_modules missing)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" > "$stamp"
fi

# ---- 3. native kernels (optional: the project falls back to wasm without them) -----------------------
if [ -f scripts/build-native.sh ]; then
  if bash scripts/build-native.sh >&2; then
    : > node_modules/.omni-native-ok
  else
    rm -f node_modules/.omni-native-ok
    say "WARNING: the native addon did not build; TensorFlow.js will run on wasm (slower). See the lines above."
  fi
fi

# ---- 4. the library, built for notebooks ---------------------------------------------------------
# tslab compiles notebook cells with rootDir = notebooks/, so notebooks import the built package by
# its own name: notebooks/node_modules/omni-avsr-lab is a link to the repository, whose main/types point
# at dist/. (A link in the top node_modules/ would be pruned by every `npm install`.)
newest_src=$(find src tsconfig.json tsconfig.build.json -type f -newer dist/.build-stamp 2>/dev/null | head -1 || true)
if [ ! -f dist/.build-stamp ] || [ -n "$newest_src" ]; then
  say "building src/ -> dist/"
  rm -rf dist
  npx tsc -p tsconfig.build.json
  : > dist/.build-stamp
fi
if [ "$(readlink notebooks/node_modules/omni-avsr-lab 2>/dev/null)" != "../.." ]; then
  mkdir -p notebooks/node_modules
  rm -rf notebooks/node_modules/omni-avsr-lab
  ln -s ../.. notebooks/node_modules/omni-avsr-lab
fi

# ---- 5. tslab kernel in a repo-local Jupyter path (used through JUPYTER_PATH=.jupyter/share/jupyter) ----
kernel=.jupyter/share/jupyter/kernels/tslab/kernel.json
if [ ! -f "$kernel" ] || ! grep -q "$ROOT/node_modules/.bin/tslab" "$kernel"; then
  say "registering the tslab kernel in .jupyter/"
  node_modules/.bin/tslab install --python=/usr/bin/python3 --binary="$ROOT/node_modules/.bin/tslab" \
    --prefix="$ROOT/.jupyter" >/dev/null
fi
say "ready"
