#!/usr/bin/env bash
# docs/ci.sh BUILDDIR: the documentation checks, against the tool and library built in
# BUILDDIR (run from the repository root; installs nothing).
#   1. the Doxygen reference: zero warnings (every public function, parameter, return,
#      field and enum value documented; no broken link between pages), a page per
#      header and guide, every exported function indexed (docs/check-doxygen.sh);
#   2. the 'docs' target: `meson compile -C BUILDDIR docs` builds the HTML, when BUILDDIR
#      was configured with doxygen found;
#   3. the man pages: rendered without warnings, hamdeq(1) equal to the tool's --help,
#      libhamdeq(3) naming the whole API, its example built and run (docs/check-man.sh);
#   4. the guides' commands: every block of docs/tutorial.md and docs/choosing.md marked
#      `<!-- run -->` run against BUILDDIR (docs/check_commands.py; under 2 minutes on 2
#      cores; blocks whose data set is absent are skipped with a message; Fashion-MNIST
#      is Debian's dataset-fashion-mnist).
# Debian packages: doxygen, groff-base, man-db (optional: one more rendering check), a C
# compiler (build-essential), python3 (already there for meson).
set -euo pipefail

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: docs/ci.sh BUILDDIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
src=$(pwd)

start=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results=()
status=0

step() {
  local name=$1
  shift
  echo "== docs/ci.sh: $name"
  if "$@"; then
    results+=("PASS  $name")
  else
    results+=("FAIL  $name")
    status=1
  fi
}

missing=()
for tool in doxygen groff python3 "${CC:-cc}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "docs/ci.sh: missing: ${missing[*]} (Debian: apt-get install doxygen groff-base" \
    "build-essential python3)" >&2
  exit 1
fi
if [ ! -f "$build/include/hamdeq/version.h" ] || [ ! -x "$build/tools/hamdeq" ]; then
  echo "docs/ci.sh: $build is not a built libhamdeq build directory" >&2
  exit 1
fi

# The configuration meson made (docs/meson.build), or the same one made here when
# BUILDDIR was configured without doxygen or with -Ddocs=disabled.
doxyfile=$build/docs/Doxyfile
if [ ! -f "$doxyfile" ]; then
  doxyfile=$tmp/Doxyfile
  sed -e "s|@VERSION@|$(sed -n "s/^ *version : '\([^']*\)'.*/\1/p" meson.build)|" \
    -e "s|@TOP_SRCDIR@|$src|g" -e "s|@TOP_BUILDDIR@|$build|g" \
    -e "s|@OUTPUT_DIRECTORY@|$tmp/unused|" -e "s|@PYTHON@|$(command -v python3)|" \
    docs/Doxyfile.in >"$doxyfile"
  echo "docs/ci.sh: $build/docs/Doxyfile not configured; using docs/Doxyfile.in directly"
fi

step "doxygen: no warnings, pages, index (docs/check-doxygen.sh)" \
  docs/check-doxygen.sh "$doxyfile"

docs_target() {
  if [ ! -f "$build/docs/Doxyfile" ]; then
    echo "docs/ci.sh: BUILDDIR has no docs target (doxygen was not found at setup, or" \
      "-Ddocs=disabled); skipped"
    return 0
  fi
  rm -rf "$build/docs/html"
  meson compile -C "$build" docs >"$tmp/compile.log" 2>&1 || {
    sed 's/^/  /' "$tmp/compile.log" >&2
    return 1
  }
  [ -f "$build/docs/html/index.html" ] || {
    echo "docs/ci.sh: no $build/docs/html/index.html after meson compile docs" >&2
    return 1
  }
  echo "docs/ci.sh: meson compile docs: $(find "$build/docs/html" -name '*.html' | wc -l)" \
    "HTML pages in $build/docs/html"
}
step "meson compile docs" docs_target

step "man pages (docs/check-man.sh)" docs/check-man.sh "$build"

step "guides' commands (docs/check_commands.py)" python3 docs/check_commands.py "$build"

echo
echo "docs/ci.sh summary ($(($(date +%s) - start)) s):"
printf '  %s\n' "${results[@]}"
if [ "$status" -ne 0 ]; then
  echo "docs/ci.sh: FAILED"
else
  echo "docs/ci.sh: all documentation checks passed"
fi
exit "$status"
