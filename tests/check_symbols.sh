#!/bin/sh
# The exported symbols of libhamdeq are exactly the names of the version script, and all
# start with ham_; and the library references no setter of a BLAS's process-wide thread
# count (docs/api.md: those settings are the host's). Usage: check_symbols.sh path/to/libhamdeq.so path/to/hamdeq.map
set -eu
lib=$1
map=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Defined dynamic symbols of type T (code), version suffix (@@NODE / @NODE) stripped.
# The version node itself (e.g. HAMDEQ_0.1, type A) is not a function and is ignored.
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' |
    sort -u >"$tmp/exported"
# Version nodes of the map file ("HAMDEQ_0.1 {"): absolute symbols of that name are the
# nodes themselves; every other defined symbol is unexpected (no exported variables).
sed -n 's/^[ \t]*\([A-Za-z_][A-Za-z0-9_.]*\)[ \t]*{.*/\1/p' "$map" | sort -u >"$tmp/nodes"
nm -D --defined-only "$lib" | awk -v nodes="$tmp/nodes" '
    BEGIN { while ((getline n < nodes) > 0) node[n] = 1 }
    $2 == "T" { next }
    $2 == "A" && ($3 in node) { next }
    { print }' >"$tmp/other"

# Names listed under "global:" in the map file, up to "local:".
sed -e 's:/\*.*\*/::g' "$map" | awk '
    /global:/ { on = 1; next }
    /local:/  { on = 0 }
    on {
        gsub(/[ \t;]/, "")
        if ($0 != "") print
    }' | sort -u >"$tmp/mapped"

status=0
if [ ! -s "$tmp/exported" ]; then
    echo "no exported functions found in $lib" >&2
    exit 1
fi
if ! cmp -s "$tmp/exported" "$tmp/mapped"; then
    echo "exported symbols differ from $map (< exported only, > map only):" >&2
    diff "$tmp/exported" "$tmp/mapped" >&2 || true
    status=1
fi
if grep -v '^ham_' "$tmp/exported" >"$tmp/bad"; then
    echo "exported symbols without the ham_ prefix:" >&2
    cat "$tmp/bad" >&2
    status=1
fi
nm -D --undefined-only "$lib" | awk '{ sub(/@.*/, "", $NF); print $NF }' |
    grep -E '^(openblas_set_num_threads|goto_set_num_threads|omp_set_num_threads|bli_thread_set_num_threads|MKL_Set_Num_Threads|mkl_set_num_threads)$' \
    >"$tmp/setters" || true
if [ -s "$tmp/setters" ]; then
    echo "the library references a BLAS thread-count setter:" >&2
    cat "$tmp/setters" >&2
    status=1
fi
if [ -s "$tmp/other" ]; then
    echo "exported symbols that are not functions:" >&2
    cat "$tmp/other" >&2
    status=1
fi
if [ $status -eq 0 ]; then
    echo "$(wc -l <"$tmp/exported") exported symbols match $(basename "$map")"
fi
exit $status
