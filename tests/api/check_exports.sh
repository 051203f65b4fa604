#!/usr/bin/env bash
# usage: [NM=nm READELF=readelf] check_exports.sh LIBQTOOL.so RUNTIME_ONLY.so
# (a cross build passes its own nm and readelf; the two may be one library).
# 1. libqtool.so's dynamic symbols are the public API of include/qtool/translator.h
#    only: qtool::Translator, qtool::Error, qtool::version/kernels/runtime_only
#    (with Error's typeinfo and vtable), nothing of the internals or the
#    standard library.
# 2. The runtime-only library needs no HDF5 and holds no quantizer or checkpoint code.
set -euo pipefail
lib="$1" rt="$2" nm="${NM:-nm}" readelf="${READELF:-readelf}"
fail=0
exported=$("$nm" -D --defined-only "$lib" | awk '$2 ~ /^[TtWwVvDdBbRrIiUu]$/ || NF == 3 { print $3 }' | c++filt | sort -u)
[ -n "$exported" ] || { echo "no exported symbols in $lib" >&2; exit 1; }
public='^((typeinfo|typeinfo name|vtable) for )?qtool::(Translator|Error|version|kernels|runtime_only)\b'
bad=$(grep -Ev "$public" <<<"$exported" | grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$' || true)
if [ -n "$bad" ]; then
  echo "$lib exports symbols outside the public API:" >&2
  head -20 <<<"$bad" >&2
  fail=1
fi
for want in 'qtool::Translator::Translator(' 'qtool::Translator::translate(' 'typeinfo for qtool::Error' 'qtool::version()'; do
  grep -qF "$want" <<<"$exported" || { echo "$lib does not export $want" >&2; fail=1; }
done
if "$readelf" -d "$rt" | grep NEEDED | grep -i hdf5; then
  echo "$rt links HDF5" >&2
  fail=1
fi
if "$nm" -C "$rt" | grep -E 'qtool::(quantize|checkpoint|pipeline)::' | head -5 | grep .; then
  echo "$rt holds quantizer, checkpoint or pipeline code" >&2
  fail=1
fi
echo "$(wc -l <<<"$exported") exported symbols, all public API; runtime-only library: no HDF5, no quantizer"
exit $fail
