#!/usr/bin/env bash
# Checks the two ways users consume corio: `meson install` + `pkg-config --cflags --libs corio`
# alone, and corio as a meson subproject (`dependency('corio')`).
set -euo pipefail
build=$1
root=$PWD
prefix=$root/build/install
meson install -C "$build" --quiet >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. pkg-config
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
g++ -O1 tests/consumer/main.cpp $(pkg-config --cflags --libs corio) -Wl,-rpath,"$prefix/lib" -o "$work/consumer"
out=$("$work/consumer")
[ "$out" = "consumer: 42" ] || { echo "pkg-config consumer printed '$out'"; exit 1; }
echo "pkg-config consumer: ok"

# 1b. The README's first example, built with the README's own line (g++, and clang++ as on
# macOS): it must compile and link with nothing but what pkg-config gives.
python3 - "$work/readme.cpp" <<'PY'
import re, sys
text = open("README.md").read()
block = re.search(r"```cpp\n(.*?)```", text, re.S).group(1)
open(sys.argv[1], "w").write(block)
PY
for cxx in g++ clang++; do
    command -v "$cxx" >/dev/null || continue
    "$cxx" -std=c++20 "$work/readme.cpp" $(pkg-config --cflags --libs corio) -Wl,-rpath,"$prefix/lib" -o "$work/readme-$cxx"
    out=$("$work/readme-$cxx")
    [ "$out" = "Data from api1 Data from api2 Data from api3" ] || { echo "README example ($cxx) printed '$out'"; exit 1; }
    echo "README example with $cxx and pkg-config: ok"
done

# 2. meson subproject
mkdir -p "$work/sub/subprojects"
cp tests/consumer/main.cpp "$work/sub/"
cat > "$work/sub/meson.build" <<'MESON'
project('consumer', 'cpp', default_options : ['cpp_std=c++20'])
executable('consumer', 'main.cpp', dependencies : dependency('corio'))
MESON
# A copy, not a symlink: meson refuses subprojects that point outside the parent project.
git ls-files -z | tar --null -T - -cf - | (mkdir "$work/sub/subprojects/corio" && tar -xf - -C "$work/sub/subprojects/corio")
(cd "$work/sub" && meson setup b --wrap-mode=forcefallback >/dev/null && ninja -C b >/dev/null)
out=$("$work/sub/b/consumer")
[ "$out" = "consumer: 42" ] || { echo "subproject consumer printed '$out'"; exit 1; }
echo "meson subproject consumer: ok"
