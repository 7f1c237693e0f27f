#!/usr/bin/env bash
# bindings/python/ci.sh BUILDDIR: every check of the Python binding against the library
# built in BUILDDIR (BUILDDIR/lib/libhamdeq.so.0), run from the repository root. Installs
# nothing; needs Debian's python3-cffi, python3-numpy, python3-pytest and a C compiler.
#
#   1. the pytest suite (bindings/python/tests), with every exported function required
#      to be called through the binding (HAMDEQ_TRACE_CALLS, HAMDEQ_REQUIRE_ALL_CALLED);
#      exit code 5 (no tests collected) is a failure like any other non-zero one;
#   2. the quick start of bindings/python/README.md, extracted and executed;
#   3. examples/retrieve.py, whose output must equal BUILDDIR/examples/example-retrieve's
#      (the C example) when that was built;
#   4. examples/train.py on $HAMDEQ_DATA (default ../shared/data/mnist10k) when present.
#
# Every check runs even when an earlier one failed; a summary follows, and the exit
# status is 1 when any check failed. PYTHON overrides the interpreter (default
# /usr/bin/python3, Debian's: not a pyenv one from PATH).
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: bindings/python/ci.sh BUILDDIR" >&2
    exit 2
fi
builddir=$(cd "$1" && pwd)
cd "$(dirname "$0")/../.."
root=$PWD
py=${PYTHON:-/usr/bin/python3}
lib="$builddir/lib/libhamdeq.so.0"
data=${HAMDEQ_DATA:-$root/../shared/data/mnist10k}
if [ -d "$data" ]; then
    data=$(cd "$data" && pwd)
fi

if [ ! -e "$lib" ]; then
    echo "bindings/python/ci.sh: no $lib: build the library first" >&2
    exit 1
fi
if ! "$py" -c 'import cffi, numpy, pytest' 2>/dev/null; then
    echo "bindings/python/ci.sh: $py lacks cffi, numpy or pytest" \
         "(apt-get install python3-cffi python3-numpy python3-pytest)" >&2
    exit 1
fi

export HAMDEQ_LIBRARY="$lib" HAMDEQ_BUILDDIR="$builddir" HAMDEQ_DATA="$data"
export PYTHONPATH="$root/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1 OPENBLAS_NUM_THREADS=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results=()
failed=0
t_all=$SECONDS

# run NAME CMD...: runs a check, its output indented, and records PASS/FAIL with its time
# (the detail of the last line of $tmp/detail, when the check wrote one).
run() {
    local name=$1
    shift
    local t0=$SECONDS rc=0
    : >"$tmp/detail"
    printf '\n=== %s\n' "$name"
    "$@" || rc=$?
    local detail
    detail=$(tail -n 1 "$tmp/detail")
    if [ "$rc" -eq 0 ]; then
        results+=("PASS  $name${detail:+ ($detail)}  [$((SECONDS - t0)) s]")
    else
        results+=("FAIL  $name (exit $rc${detail:+; $detail})  [$((SECONDS - t0)) s]")
        failed=$((failed + 1))
    fi
}

check_pytest() {
    HAMDEQ_TRACE_CALLS=1 HAMDEQ_REQUIRE_ALL_CALLED=1 \
        "$py" -m pytest -p no:cacheprovider -q -rs bindings/python/tests 2>&1 \
        | tee "$tmp/pytest.log"
    local rc=${PIPESTATUS[0]}
    grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed|error|no tests ran)' "$tmp/pytest.log" \
        | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//' >"$tmp/detail" || true
    if [ "$rc" -eq 5 ]; then
        echo "pytest exit code 5: no tests collected or run" >"$tmp/detail"
    fi
    return "$rc"
}

check_quickstart() {
    # the first ```python block after the "## Quick start" heading
    awk '/^## Quick start/ {q = 1; next}
         q && /^## / {exit}
         q && /^```python$/ {inb = 1; next}
         inb && /^```$/ {exit}
         inb {print}' bindings/python/README.md >"$tmp/quickstart.py"
    if [ ! -s "$tmp/quickstart.py" ]; then
        echo "no python block under '## Quick start'" | tee "$tmp/detail"
        return 1
    fi
    echo "$(wc -l <"$tmp/quickstart.py") lines" >"$tmp/detail"
    "$py" "$tmp/quickstart.py"
}

check_retrieve() {
    "$py" bindings/python/examples/retrieve.py | tee "$tmp/retrieve.py.out"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || return "$rc"
    local c="$builddir/examples/example-retrieve"
    if [ -x "$c" ]; then
        "$c" >"$tmp/retrieve.c.out"
        if ! diff -u "$tmp/retrieve.c.out" "$tmp/retrieve.py.out"; then
            echo "output differs from the C example's" >"$tmp/detail"
            return 1
        fi
        printf 'output identical to the C example'"'"'s; ' >"$tmp/detail"
    fi
    tail -n 1 "$tmp/retrieve.py.out" >>"$tmp/detail"
}

check_train() {
    "$py" bindings/python/examples/train.py "$data" | tee "$tmp/train.out"
    local rc=${PIPESTATUS[0]}
    grep '^test accuracy' "$tmp/train.out" | cut -d' ' -f1-3 >"$tmp/detail" || true
    [ "$rc" -eq 0 ] && [ -s "$tmp/detail" ]
}

run "pytest bindings/python/tests" check_pytest
run "README.md quick start" check_quickstart
run "examples/retrieve.py" check_retrieve
if [ -d "$data" ]; then
    run "examples/train.py $data" check_train
else
    results+=("SKIP  examples/train.py (no data directory $data)")
fi

pyver=$("$py" -c 'import platform; print("Python", platform.python_version())')
printf '\n=== bindings/python summary (%s, %s)\n' "$pyver" "$lib"
printf '%s\n' "${results[@]}"
if [ "$failed" -ne 0 ]; then
    printf 'bindings/python: %d check(s) FAILED in %d s\n' "$failed" $((SECONDS - t_all))
    exit 1
fi
printf 'bindings/python: all checks passed in %d s\n' $((SECONDS - t_all))
