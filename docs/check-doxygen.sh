#!/usr/bin/env bash
# check-doxygen.sh DOXYFILE: runs Doxygen with DOXYFILE (BUILDDIR/docs/Doxyfile, made by
# docs/meson.build from docs/Doxyfile.in) into a temporary directory and fails on any
# warning, then checks what the HTML holds:
#   - a page for every public header (include/hamdeq/*.h and the generated version.h);
#   - a page for every guide (docs/*.md), the README as the main page, the changelog;
#   - every exported function (lib/hamdeq.map) in the index of documented functions;
#   - no link left pointing at a .md file (a link Doxygen could not resolve).
# The meson test 'doxygen' (suite docs) and docs/ci.sh run it. Needs doxygen, python3.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 DOXYFILE (BUILDDIR/docs/Doxyfile)" >&2
  exit 2
fi
doxyfile=$1
src=$(cd "$(dirname "$0")/.." && pwd)
doxygen=${DOXYGEN:-doxygen}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
err() {
  echo "check-doxygen: FAIL: $*" >&2
  fail=1
}

# The configuration on stdin: the file, with the output directory replaced.
rc=0
{ cat "$doxyfile"; echo "OUTPUT_DIRECTORY = $tmp/out"; } |
  "$doxygen" - >"$tmp/log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || [ -s "$tmp/log" ]; then
  sed 's/^/  /' "$tmp/log" >&2
  err "doxygen exited with status $rc and printed $(wc -l <"$tmp/log") line(s); every" \
    "warning is an error"
fi
html=$tmp/out/html
if [ ! -f "$html/index.html" ]; then
  err "no $html/index.html"
  exit 1
fi

# A page per header. Doxygen names the page of foo_bar.h foo__bar_8h.html.
n_headers=0
for h in "$src"/include/hamdeq/*.h version.h; do
  base=$(basename "$h")
  page=$(printf '%s' "${base%.h}" | sed 's/_/__/g')_8h.html
  [ -f "$html/$page" ] || err "no page for the header $base ($page)"
  n_headers=$((n_headers + 1))
done

# A page per guide: docs/model-format.md is md_docs_model_format.html.
n_guides=0
for md in "$src"/docs/*.md; do
  base=$(basename "$md" .md)
  page=md_docs_$(printf '%s' "$base" | sed 's/[^A-Za-z0-9]/_/g').html
  [ -f "$html/$page" ] || err "no page for the guide docs/$base.md ($page)"
  n_guides=$((n_guides + 1))
done
[ -f "$html/md_CHANGELOG.html" ] || err "no page for CHANGELOG.md"
grep -q 'libhamdeq' "$html/index.html" || err "index.html is not the README"

# Every exported function is documented (EXTRACT_ALL is off, so an undocumented one
# would be missing from the index as well as warned about).
n_functions=0
for f in $(sed -n 's/^[[:space:]]*\(ham_[a-z0-9_]*\);.*/\1/p' "$src/lib/hamdeq.map"); do
  grep -qF "<li>$f()" "$html"/globals_func*.html || err "$f is not in the function index"
  n_functions=$((n_functions + 1))
done
[ "$n_functions" -gt 0 ] || err "no functions read from lib/hamdeq.map"

# Links Doxygen did not resolve are left as href="something.md".
if grep -o 'href="[^"]*\.md\(#[^"]*\)\?"' "$html"/*.html >"$tmp/md-links"; then
  sed 's/^/  /' "$tmp/md-links" >&2
  err "links to .md files left unresolved in the HTML"
fi

if [ "$fail" -ne 0 ]; then
  exit 1
fi
echo "check-doxygen: OK: no warnings; $n_headers header pages, $n_guides guides," \
  "$n_functions exported functions documented"
