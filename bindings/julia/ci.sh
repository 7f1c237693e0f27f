#!/usr/bin/env bash
# Checks of the Julia binding (bindings/julia/HamDeq) against the library in BUILDDIR.
#
#     bindings/julia/ci.sh BUILDDIR        (from the repository root)
#
# No Julia runtime can be installed on the CI machines, so the binding is checked
# mechanically: check_ccalls.py parses the public headers (pycparser, Debian's
# python3-pycparser) and every ccall of the package and fails on a missing function or a
# type that does not match C; then its self-test proves it rejects deliberate mistakes.
# When a `julia` happens to be on PATH, the package tests run too. Installs nothing.
set -euo pipefail

builddir=${1:?usage: bindings/julia/ci.sh BUILDDIR}
[ -d "$builddir" ] || { echo "julia ci: no build directory $builddir" >&2; exit 2; }
py=/usr/bin/python3
lib="$builddir/lib/libhamdeq.so.0"
start=$SECONDS
results=()
failed=0

run() { # name, command...
    local name=$1
    shift
    echo "== julia: $name"
    if "$@"; then
        results+=("PASS  $name")
    else
        results+=("FAIL  $name")
        failed=1
    fi
}

if ! "$py" -c 'import pycparser' 2>/dev/null; then
    echo "julia ci: python3-pycparser is missing (Debian package python3-pycparser)" >&2
    exit 1
fi
run "ccalls match the C headers and the built library" \
    "$py" bindings/julia/check_ccalls.py --builddir "$builddir" --library "$lib"
run "checker self-test (deliberate mistakes are rejected)" \
    "$py" bindings/julia/check_ccalls.py --builddir "$builddir" --self-test
if command -v julia >/dev/null 2>&1; then
    run "package tests (Pkg.test)" env LIBHAMDEQ="$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")" \
        julia --project=bindings/julia/HamDeq -e 'using Pkg; Pkg.test()'
else
    results+=("SKIP  package tests (no julia on this machine)")
fi

echo "== julia: summary ($((SECONDS - start)) s)"
printf '  %s\n' "${results[@]}"
exit $failed
