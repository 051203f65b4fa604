#!/usr/bin/env bash
# usage: check_install.sh SOURCE_DIR BUILD_DIR QTOOL_BINARY
# Installs qtool into a scratch prefix and uses it from outside the repository,
# as an application would:
#   1. examples/cpp (find_package(qtool) → qtool::qtool, the shared library)
#      translates the tiny model's first 50 test lines byte for byte as
#      `qtool translate` does, from a file and from stdin;
#   2. the same program linked statically (qtool::qtool_static) and through
#      pkg-config (`pkg-config --cflags --libs qtool`) gives the same bytes.
set -euo pipefail
src="$1" build="$2" qtool="$3"
work="$build/tests/api/install-check"
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"
model="$src/models/ddtp-en-de-tiny"
head -50 "$src/data/ddtp-en-de/test.en" >"$work/src.en"
"$qtool" translate --model "$model" --input "$work/src.en" --output "$work/want.de" --quiet 2>/dev/null

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/qtool/translator.h include/qtool/error.h; do
  [ -f "$prefix/$f" ] || { echo "not installed: $f" >&2; exit 1; }
done
libdir=$(dirname "$(find "$prefix" -name 'libqtool.so' | head -1)")
[ -f "$libdir/libqtool.a" ] && [ -f "$libdir/pkgconfig/qtool.pc" ] && [ -f "$libdir/cmake/qtool/qtoolConfig.cmake" ] ||
  { echo "libqtool.a, qtool.pc or qtoolConfig.cmake missing under $libdir" >&2; exit 1; }

same() {  # what, file
  cmp "$work/want.de" "$2" || { echo "$1: output differs from qtool translate" >&2; diff "$work/want.de" "$2" | head >&2; exit 1; }
}
# 1. The example as shipped: only find_package and target_link_libraries.
cmake -S "$src/examples/cpp" -B "$work/example" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$work/example.log"
cmake --build "$work/example" >>"$work/example.log"
"$work/example/translate_lines" "$model" "$work/src.en" >"$work/got.de"
same "examples/cpp" "$work/got.de"
"$work/example/translate_lines" "$model" <"$work/src.en" >"$work/got-stdin.de"
same "examples/cpp from stdin" "$work/got-stdin.de"

# 2a. Static: the same source against qtool::qtool_static.
mkdir -p "$work/static-src"
cp "$src/examples/cpp/translate_lines.cpp" "$work/static-src/"
sed 's/qtool::qtool)/qtool::qtool_static)/' "$src/examples/cpp/CMakeLists.txt" >"$work/static-src/CMakeLists.txt"
cmake -S "$work/static-src" -B "$work/static" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$work/static.log"
cmake --build "$work/static" >>"$work/static.log"
if readelf -d "$work/static/translate_lines" | grep -q 'libqtool\.so'; then echo "static example links libqtool.so" >&2; exit 1; fi
"$work/static/translate_lines" "$model" "$work/src.en" >"$work/got-static.de"
same "static library" "$work/got-static.de"

# 2b. pkg-config, shared.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
g++ -std=c++17 -O1 -o "$work/pc_translate" "$src/examples/cpp/translate_lines.cpp" $(pkg-config --cflags --libs qtool) \
  -Wl,-rpath,"$libdir"
"$work/pc_translate" "$model" "$work/src.en" >"$work/got-pc.de"
same "pkg-config" "$work/got-pc.de"
echo "installed package: examples/cpp (shared, static, pkg-config) = qtool translate on 50 lines"
