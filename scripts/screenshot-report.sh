#!/usr/bin/env bash
# A PNG of a report page as headless Chromium renders it, to judge the design.
# usage: scripts/screenshot-report.sh REPORT.html OUT.png [WIDTH [HEIGHT]]
# The height defaults to the page's full height (measured with a first load).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 REPORT.html OUT.png [WIDTH [HEIGHT]]" >&2; exit 2; }
report=$(realpath "$1") out=$(realpath -m "$2") width=${3:-1280} height=${4:-}
browser=${QTOOL_CHROMIUM:-chromium}
command -v "$browser" >/dev/null || { echo "$browser not found: run scripts/setup.sh --test" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# --no-sandbox: Chromium's sandbox refuses to run as root (CI, containers).
run() { "$browser" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
          --user-data-dir="$profile" --window-size="$width,$1" "${@:2}" 2>/dev/null; }
if [ -z "$height" ]; then
  # A copy with a one-line script that prints the page's height into the DOM.
  probe="$profile/probe.html"
  sed 's#</body>#<script>document.body.insertAdjacentHTML("beforeend","<i id=h>"+document.documentElement.scrollHeight+"</i>")</script></body>#' \
    "$report" >"$probe"
  height=$(run 900 --dump-dom "file://$probe" | sed -n 's#.*<i id="h">\([0-9]*\)</i>.*#\1#p')
  height=${height:-4000}
fi
run "$height" --screenshot="$out" "file://$report"
echo "$out (${width}x${height})" >&2
