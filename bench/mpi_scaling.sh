#!/usr/bin/env bash
# Issue 13's scaling table (docs/distributed.md, "Scaling on this machine"): one epoch of
# full Fashion-MNIST (60,000 train / 10,000 test) with the defaults of `hamdeq train`
# (ham-eo-deq, 784-512-10, Madam, batch 64, tolerance 1e-4), in these configurations:
#   1rank    mpirun -np 1 hamdeq-mpi, OPENBLAS_NUM_THREADS=1
#   2ranks   mpirun -np 2 hamdeq-mpi, OPENBLAS_NUM_THREADS=1 in each rank
#   2yield   the same with --mca mpi_yield_when_idle 1 (a waiting rank yields its core
#            instead of busy-polling: matters when the cores are shared)
#   blas2    hamdeq train --threads 1 --blas-threads 2: one process, OpenBLAS's 2 threads
#   threads2 hamdeq train --threads 2 --blas-threads 2: threads over samples (HAM_TRAIN_THREADS)
#            as well
# The configurations run alternately, ROUNDS times (rounds of 1rank, 2ranks, blas2, ...),
# so a change of load hits them all alike; the load average (`uptime`) is recorded before
# every run. Prints a markdown table: seconds of training per epoch (the tools' JSON
# sec_per_epoch) for every run, their median and min-max, the test accuracy, and the
# range of the 1-minute load average. CI does not run this.
#
# Usage: bench/mpi_scaling.sh [BUILDDIR]      (default: build, configured with -Dmpi=enabled)
# Environment:
#   DATA         default: /usr/share/datasets/fashion-mnist
#   ROUNDS       default: 3
#   EPOCHS       default: 1
#   CONFIGS      the configurations to run (default: "1rank 2ranks 2yield blas2 threads2")
#   ARGS         more options for every run (e.g. "--batch 512")
#   OUT          directory for the raw outputs (default: a temporary one, removed)
#   MPIRUN       default: "mpirun --allow-run-as-root --oversubscribe --bind-to none"
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=${DATA:-/usr/share/datasets/fashion-mnist}
rounds=${ROUNDS:-3}
epochs=${EPOCHS:-1}
ham=$build/tools/hamdeq
mpi=$build/tools/mpi/hamdeq-mpi
read -r -a mpirun <<<"${MPIRUN:-mpirun --allow-run-as-root --oversubscribe --bind-to none}"
for f in "$ham" "$mpi"; do
    [ -x "$f" ] || { echo "bench/mpi_scaling.sh: $f missing (meson configure -Dmpi=enabled)" >&2; exit 1; }
done
[ -d "$data" ] || { echo "bench/mpi_scaling.sh: no $data (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${OUT:-}" ] || trap 'rm -rf "$out"' EXIT
configs=(${CONFIGS:-1rank 2ranks 2yield blas2 threads2})
read -r -a extra <<<"${ARGS:-}"
common=(--data "$data" --epochs "$epochs" --quiet --json "${extra[@]}")

run_config() { # CONFIG: one run, its JSON line on stdout
    case $1 in
    1rank) OPENBLAS_NUM_THREADS=1 "${mpirun[@]}" -np 1 "$mpi" "${common[@]}" --threads 1 ;;
    2ranks) OPENBLAS_NUM_THREADS=1 "${mpirun[@]}" -x OPENBLAS_NUM_THREADS -np 2 "$mpi" \
        "${common[@]}" --threads 1 ;;
    2yield) OPENBLAS_NUM_THREADS=1 "${mpirun[@]}" --mca mpi_yield_when_idle 1 \
        -x OPENBLAS_NUM_THREADS -np 2 "$mpi" "${common[@]}" --threads 1 ;;
    blas2) OPENBLAS_NUM_THREADS=2 "$ham" train "${common[@]}" --threads 1 --blas-threads 2 ;;
    threads2) OPENBLAS_NUM_THREADS=2 "$ham" train "${common[@]}" --threads 2 --blas-threads 2 ;;
    esac
}

load() { uptime | sed 's/.*load average: //; s/,.*//'; }
echo "bench/mpi_scaling.sh: $(date -u '+%F %T UTC'), $(nproc) cores, $rounds rounds of ${configs[*]}" >&2
for r in $(seq 1 "$rounds"); do
    for c in "${configs[@]}"; do
        l=$(load)
        run_config "$c" >"$out/$c.$r.json"
        echo "$l" >"$out/$c.$r.load"
        echo "round $r $c: load $l, $(cat "$out/$c.$r.json")" >&2
    done
done
echo "after: load $(uptime | sed 's/.*load average: //')" >&2

python3 - "$out" "$rounds" "${configs[@]}" <<'PY'
import json, os, statistics, sys
out, rounds, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
names = {
    "1rank": "1 rank (`mpirun -np 1 hamdeq-mpi`, OPENBLAS_NUM_THREADS=1)",
    "2ranks": "2 ranks (`mpirun -np 2 hamdeq-mpi`, OPENBLAS_NUM_THREADS=1 each)",
    "2yield": "2 ranks, `--mca mpi_yield_when_idle 1`",
    "blas2": "1 process, 2 BLAS threads (`hamdeq train --threads 1 --blas-threads 2`)",
    "threads2": "1 process, threads over samples (`hamdeq train --threads 2 --blas-threads 2`)",
}
print("| configuration | s/epoch, each run | median | min-max | test accuracy | load (1 min) |")
print("|---|---|---:|---:|---:|---:|")
for c in configs:
    secs, accs, loads = [], [], []
    for r in range(1, rounds + 1):
        with open(os.path.join(out, f"{c}.{r}.json")) as f:
            j = json.loads(f.read())
        secs.append(j["sec_per_epoch"])
        accs.append(100.0 * j["test_acc"])
        with open(os.path.join(out, f"{c}.{r}.load")) as f:
            loads.append(float(f.read()))
    acc = (f"{accs[0]:.2f}%" if max(accs) == min(accs)
           else f"{min(accs):.2f}-{max(accs):.2f}%")
    print(f"| {names[c]} | {' / '.join(f'{s:.1f}' for s in secs)} | "
          f"{statistics.median(secs):.1f} | {min(secs):.1f}-{max(secs):.1f} | {acc} | "
          f"{min(loads):.1f}-{max(loads):.1f} |")
PY
