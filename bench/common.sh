# shellcheck shell=bash
# Shared by bench/compare.sh and bench/mhn_retrieve.sh (sourced, not run): the checks and
# settings both make before measuring. Needs $hamdeq and $rounds; sets $out and
# $threads_args.

# ROUNDS: alternating rounds, at least 3, so that the median is not one run's.
if ! [ "$rounds" -ge 3 ] 2>/dev/null; then
    echo "$0: ROUNDS must be an integer >= 3, got '$rounds'" >&2
    exit 2
fi
for f in "$@"; do
    if [ ! -e "$f" ]; then
        echo "$0: $f not found (build the tool: meson setup build --buildtype=release &&" \
             "ninja -C build; or set HAMDEQ, PEER or PYTHON)" >&2
        exit 2
    fi
done
# OUT keeps the raw outputs; else a temporary directory, removed on exit.
if [ -n "${OUT:-}" ]; then
    out=$OUT
    mkdir -p "$out"
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
# THREADS goes to hamdeq as --threads only where the tool has that flag (before and after
# the threads-over-samples work it names different things: see docs/performance.md).
threads_args=()
if [ -n "${THREADS:-}" ]; then
    if "$hamdeq" bench --perf --help 2>&1 | grep -q -- '--threads'; then
        threads_args=(--threads "$THREADS")
    else
        echo "$0: THREADS=$THREADS ignored: this hamdeq has no --threads" >&2
    fi
fi
load() {
    uptime | sed 's/.*load average/load average/'
}
