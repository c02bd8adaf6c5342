#!/usr/bin/env bash
# Tests corio's npm package the way a user gets it: builds and packs it (scripts/npm_pack),
# installs the tarball with npm in a fresh folder outside the repository, then there
#   1. runs wasm/npm/test/*.test.mjs with `node --test` (they `import { load } from 'corio'`),
#   2. runs each examples/node/*.mjs and compares its output with its .expected,
#   3. type-checks wasm/npm/test/consumer.ts with `tsc --strict` (typescript@5 from npm), as a
#      CommonJS file and as an ES module (a copy named consumer.mts),
#   4. builds a module of one's own (examples/user_module.cpp) with the em++ line of the
#      README and loads it with the installed package: add(2, 3) must be 5.
# Every step runs even if an earlier one failed; a summary ends the output, and the exit code
# is non-zero if anything failed. The folder is removed on success (kept on a failure, or
# always with CORIO_NODE_KEEP=1). NODE_TEST_TIMEOUT (s, default 600) bounds `node --test`.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/lib.sh
command -v node >/dev/null || { echo "node is needed (Node.js 20)" >&2; exit 1; }
export NODE_PATH=/usr/share/nodejs  # em++'s JS optimiser needs acorn from Debian's node modules

step() { echo; echo "==> $*"; }
results=()
failed=0
record() {  # record NAME STATUS
    results+=("$(printf '%-48s %s' "$1" "$2")")
    [ "$2" = PASS ] || failed=1
}

step "building and packing the npm package (scripts/npm_pack)"
if ! pack_out=$(bash scripts/npm_pack); then
    echo "FAIL: scripts/npm_pack failed" >&2
    exit 1
fi
tarball=$(printf '%s\n' "$pack_out" | tail -1)
[ -f "$tarball" ] || { echo "FAIL: scripts/npm_pack's last line is not a file: $tarball" >&2; exit 1; }
echo "tarball: $tarball ($(stat -c %s "$tarball") bytes)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/corio-node-test.XXXXXX")
case "$tmp/" in
    "$root"/*) echo "FAIL: the temporary folder $tmp is inside the repository" >&2; exit 1 ;;
esac
cleanup() {
    if [ "$failed" = 0 ] && [ "${CORIO_NODE_KEEP:-0}" != 1 ]; then rm -rf "$tmp"; else echo "(kept $tmp)"; fi
}
trap cleanup EXIT

step "installing the tarball in $tmp"
(
    cd "$tmp" &&
        npm init -y >/dev/null &&
        npm install --no-audit --no-fund --silent "$tarball" &&
        node -e "require.resolve('corio')" >/dev/null
) && record "npm install <tarball>" PASS || { record "npm install <tarball>" FAIL; exit 1; }
cp wasm/npm/test/*.test.mjs wasm/npm/test/consumer.ts "$tmp/"
cp tests/peers/http_server.py "$tmp/"  # http.test.mjs: the native HTTP tests' peer
cp examples/node/*.mjs examples/node/*.expected "$tmp/"

step "node --test (wasm/npm/test/*.test.mjs against the installed package)"
tests=()
for f in wasm/npm/test/*.test.mjs; do tests+=("$(basename "$f")"); done
# --test-timeout bounds each test; `timeout` bounds the whole run (a hung child process).
if (cd "$tmp" && timeout "${NODE_TEST_TIMEOUT:-600}" node --test --test-timeout=120000 --test-reporter=spec "${tests[@]}"); then
    record "node --test (${#tests[@]} files)" PASS
else
    record "node --test (${#tests[@]} files)" FAIL
fi

step "examples/node: each output against its .expected"
for f in examples/node/*.mjs; do
    name=$(basename "$f" .mjs)
    if [ ! -f "examples/node/$name.expected" ]; then
        record "example $name" "FAIL (no $name.expected)"
        continue
    fi
    if (cd "$tmp" && timeout 60 node "$name.mjs" >"$name.out" 2>"$name.err") &&
        [ ! -s "$tmp/$name.err" ] && diff -u "$tmp/$name.expected" "$tmp/$name.out"; then
        echo "$name: same output"
        record "example $name" PASS
    else
        echo "$name: differs from $name.expected (stderr below, if any)"
        cat "$tmp/$name.err"
        record "example $name" FAIL
    fi
done

step "tsc --strict on consumer.ts (typescript@5 from npm): as CommonJS, and as an ES module (.mts)"
# The same file twice: consumer.ts in this CommonJS package, consumer.mts as an ES module
# (TypeScript then resolves the "import" side of the package, as Node does for it).
cp "$tmp/consumer.ts" "$tmp/consumer.mts"
if (cd "$tmp" && npm install --no-audit --no-fund --silent --save-dev typescript@5 && npx --no-install tsc --version); then
    for f in consumer.ts consumer.mts; do
        if (cd "$tmp" && npx --no-install tsc --strict --noEmit --module nodenext --moduleResolution nodenext --target es2022 "$f"); then
            record "tsc --strict $f" PASS
        else
            record "tsc --strict $f" FAIL
        fi
    done
else
    record "npm install typescript@5" FAIL
fi

step "a user module built with the README's em++ line, loaded with the package"
# The line the README gives (from the repository root), after scripts/npm_pack's build.
lib=build/wasm-lib
if em++ -std=c++20 -fexceptions -O2 examples/user_module.cpp \
    -Icore/include -Ibackends/browser/include -Ibackends/virtual_time/include -Iwasm/js/include -idirafter /usr/include \
    $lib/wasm/js/libcorio_js.a $lib/libcorio.a $lib/wasm/libcorio_fmt.a \
    --bind --no-entry -sMODULARIZE=1 -sEXPORT_NAME=createCorioModule -sALLOW_MEMORY_GROWTH=1 \
    -sNODEJS_CATCH_EXIT=0 -sNODEJS_CATCH_REJECTION=0 -o "$tmp/my_module.js" 2>"$tmp/em++.err"; then
    grep -v -e 'Wdeprecated-experimental-coroutine' -e 'coroutine_traits' -e '^ *\^' -e '^ *Coro<> aenter' \
        -e 'In file included from' -e 'warning generated' "$tmp/em++.err" | grep -v '^\s*$' || true
    if (cd "$tmp" && timeout 30 node --input-type=module -e "
        import { load } from 'corio';
        const mod = await load('./my_module.js');
        const sum = await mod.add(2, 3);
        console.log('add(2, 3) =', sum);
        if (sum !== 5) process.exit(1);
    "); then
        record "em++ user module: load() + add(2, 3) === 5" PASS
    else
        record "em++ user module: load() + add(2, 3) === 5" FAIL
    fi
else
    cat "$tmp/em++.err"
    record "em++ user module (build)" FAIL
fi

echo
echo "==> summary (scripts/test_node.sh)"
printf '  %s\n' "${results[@]}"
if [ "$failed" != 0 ]; then
    echo "FAIL: the npm package has failures (see above)"
    exit 1
fi
echo "all passed"
