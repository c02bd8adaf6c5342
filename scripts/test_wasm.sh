#!/usr/bin/env bash
# Builds corio for WebAssembly into build/wasm (Emscripten, wasm/emscripten.ini) and runs
# its tests under node: the core suite on the browser and virtual-time backends, the
# browser backend's own tests, the examples against their Python originals, then every
# example native (build/native-for-wasm-compare) beside its wasm build under node, which
# must print the same bytes. Reports the size of hello.wasm. Exits non-zero on a failure.
# CORIO_WASM_PAGE=1 also runs the core suite in a page of headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages "${NATIVE_PACKAGES[@]}" emscripten
command -v node >/dev/null || { echo "node is needed to run the wasm build" >&2; exit 1; }

jobs=$(nproc)
start=$SECONDS
step() { echo; echo "==> $*"; }

# em++'s JS optimiser needs acorn from Debian's node modules (the cross file sets it for
# the compiler; the linker of a custom command may not get it otherwise).
export NODE_PATH=/usr/share/nodejs

step "wasm build (build/wasm)"
# -O2 without debug info: the optimisation at which hello.wasm's size is measured.
wasm_options=(-Doptimization=2 -Ddebug=false -Db_ndebug=true)
if [ -f build/wasm/build.ninja ]; then
    meson configure build/wasm "${wasm_options[@]}" >/dev/null
else
    meson setup build/wasm --cross-file wasm/emscripten.ini "${wasm_options[@]}" >/dev/null
fi
ninja -C build/wasm -j "$jobs"

step "wasm tests under node"
meson test -C build/wasm --print-errorlogs --num-processes "$jobs"

step "examples: native and node print the same bytes"
setup_build build/native-for-wasm-compare --buildtype=release -Dtests=false -Dbench=false
ninja -C build/native-for-wasm-compare -j "$jobs"
python3 wasm/compare_examples.py build/native-for-wasm-compare/examples build/wasm/examples

# Opt-in (CORIO_WASM_PAGE=1): the core suite once more in a page of headless Chromium, where
# the backend hops through a MessageChannel instead of Node's setImmediate, and the page
# must keep drawing animation frames meanwhile.
if [ "${CORIO_WASM_PAGE:-0}" = 1 ]; then
    step "core tests in a page (headless Chromium)"
    ensure_packages chromium
    if [ ! -d build/wasm-page/node_modules/playwright-core ]; then
        mkdir -p build/wasm-page
        npm install --prefix build/wasm-page --no-save --silent playwright-core@1 >/dev/null
    fi
    NODE_PATH="$PWD/build/wasm-page/node_modules" \
        node wasm/page/run_in_chromium.js build/wasm/tests core_tests "--backend browser"
fi

hello_size=$(stat -c %s build/wasm/examples/hello.wasm)
echo
echo "==> hello.wasm: $hello_size bytes ($((hello_size / 1024)) KiB, limit 400 KB)"
if [ "$hello_size" -ge 400000 ]; then
    echo "FAIL: hello.wasm is over 400 KB" >&2
    exit 1
fi
echo "==> wasm build and tests passed in $((SECONDS - start)) s"
