#!/usr/bin/env bash
# The ABI check (docs/api.md, "ABI policy"). Builds libhamdeq with debug info in its own
# build directory, dumps with abidw (libabigail) the ABI of its exported functions and of
# the types they reach, limited to the public headers (include/hamdeq and the generated
# version.h), and compares it with the committed baseline abi/libhamdeq.so.0.abi.
#
#   abi/check.sh [BUILDDIR]    the check: exit 0 when the ABI is unchanged or only grew
#                              (new functions in a new version node, members appended to
#                              size-prefixed structs, new enumerators); 1 otherwise
#   abi/update.sh [BUILDDIR]   writes the baseline from this tree instead: a deliberate act
#                              (commit it with the release, after reading its abidiff)
#
# BUILDDIR (default build-abi) is set up with --buildtype=debug when it does not exist;
# only the library is built. abidiff's exit status is a bit field: 1 error, 2 usage
# error, 4 an ABI change, 8 an incompatible change. Bit 8 marks only removed symbols, so
# a change (bit 4) fails too, unless abidiff run again without the added functions and
# without the members size-prefixed structs appended (abi/policy.py trim) finds nothing.
# abi/policy.py check judges the rest: the values of the public enums (from a second dump
# of all types: no function takes an enum type, they take int32_t), symbol version
# nodes, that public structs are size-prefixed, that the dump sees types, and that
# CHANGELOG.md, docs/api.md and meson.build state the policy in the same words. No
# libabigail suppression is used.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mode=check
if [ "${1:-}" = "--update" ]; then
    mode=update
    shift
fi
build=${1:-build-abi}
case $build in /*) ;; *) build=$root/$build ;; esac
baseline=$root/abi/libhamdeq.so.0.abi
baseline_enums=$root/abi/libhamdeq.so.0.enums

for tool in abidw abidiff; do
    command -v "$tool" >/dev/null ||
        { echo "abi/check.sh: $tool not found: install abigail-tools (libabigail)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
current=$work/libhamdeq.so.0.abi
current_enums=$work/libhamdeq.so.0.enums

if [ ! -e "$build/build.ninja" ]; then
    # Debug info, and every type of the public headers in it even where lib/ uses none.
    meson setup "$build" "$root" --buildtype=debug -Dtests=false \
        -Dc_args=-fno-eliminate-unused-debug-types >"$work/setup.log" 2>&1 ||
        { cat "$work/setup.log"; exit 1; }
fi
meson compile -C "$build" lib/hamdeq:shared_library >"$work/compile.log" 2>&1 ||
    { cat "$work/compile.log"; exit 1; }
lib=$build/lib/libhamdeq.so.0
[ -e "$lib" ] || { echo "abi/check.sh: $lib was not built" >&2; exit 1; }

# Exported interfaces only, types from the public headers only; no paths or source
# locations, so that the baseline does not depend on where or how the tree was built.
headers=(--headers-dir "$root/include/hamdeq" --headers-dir "$build/include/hamdeq"
         --drop-private-types)
abidw "${headers[@]}" --exported-interfaces-only \
    --no-corpus-path --no-comp-dir-path --no-show-locs --type-id-style hash \
    --out-file "$current" "$lib"
# The enums: every type of the public headers (no function takes an enum type).
abidw "${headers[@]}" --load-all-types --out-file "$work/all-types.abi" "$lib"
python3 "$root/abi/policy.py" enums "$work/all-types.abi" >"$current_enums"

diff_abi() {
    abidiff --no-default-suppression "$@"
}

if [ "$mode" = update ]; then
    python3 "$root/abi/policy.py" check "$current" "$current_enums"
    if [ -e "$baseline" ]; then
        echo "== abidiff, old baseline -> new baseline"
        diff_abi "$baseline" "$current" || true
    fi
    if [ -e "$baseline_enums" ]; then
        echo "== enums, old baseline -> new baseline"
        diff -U0 "$baseline_enums" "$current_enums" || true
    fi
    cp "$current" "$baseline"
    cp "$current_enums" "$baseline_enums"
    echo "abi/update.sh: wrote ${baseline#"$root"/} ($(grep -c '<elf-symbol ' "$baseline")" \
        "functions) and ${baseline_enums#"$root"/} ($(grep -vc '^#' "$baseline_enums") enumerators)"
    exit 0
fi

for f in "$baseline" "$baseline_enums"; do
    [ -e "$f" ] || { echo "abi/check.sh: no baseline ${f#"$root"/}: run abi/update.sh" >&2; exit 1; }
done

echo "== abidiff abi/libhamdeq.so.0.abi (the baseline) ${lib#"$root"/}"
status=0
diff_abi "$baseline" "$current" >"$work/report" || status=$?
cat "$work/report"
verdict=ok
if [ $((status & 3)) -ne 0 ]; then
    echo "abi/check.sh: abidiff failed (status $status)"
    exit 1
elif [ $((status & 8)) -ne 0 ]; then
    verdict="an incompatible ABI change (a removed symbol)"
elif [ $((status & 4)) -ne 0 ]; then
    # Again, without the added functions and without what size-prefixed structs
    # appended: anything left is a change the policy forbids.
    python3 "$root/abi/policy.py" trim "$baseline" "$current" "$work/trimmed.abi"
    if diff_abi --no-added-syms "$baseline" "$work/trimmed.abi" >"$work/report-changes"; then
        echo "(only additions: new functions, members appended to size-prefixed structs)"
    else
        if ! cmp -s "$work/report" "$work/report-changes"; then
            echo "== what remains without the additions:"
            cat "$work/report-changes"
        fi
        verdict="an ABI change other than additions"
    fi
else
    echo "(no ABI change)"
fi
policy=0
python3 "$root/abi/policy.py" check "$current" "$current_enums" "$baseline" "$baseline_enums" ||
    policy=1
python3 "$root/abi/policy.py" statement "$root" || policy=1
if [ "$verdict" != ok ] || [ "$policy" -ne 0 ]; then
    [ "$verdict" = ok ] && verdict="the ABI policy (above)"
    echo "abi/check.sh: FAILED: $verdict. The policy is in docs/api.md; changing the" \
        "baseline deliberately (before a release) is abi/update.sh"
    exit 1
fi
echo "abi/check.sh: the ABI is compatible with the baseline"
