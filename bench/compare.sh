#!/usr/bin/env bash
# libhamdeq side by side with the PyTorch peer (../shared/bench/torch_peer.py) on this
# machine, in one go (docs/performance.md). For each of the peer's variants:
#   peer:  --bench-only (forward at batch 64 and 1, fixed 40 iterations) and --epochs 1
#          (one epoch, fixed 40 forward / 8 backward), each with --threads 1 and
#          --threads 2; the faster of the two is kept, per measurement;
#   ours:  hamdeq bench --perf --json on the same layers and data, fixed 40/8 and early
#          stop at 1e-4;
#   accuracy: hamdeq bench --json (train ACC_EPOCHS epochs, the paper's 10 by default,
#          then evaluate) with --fixed-iters and with --tol 1e-4: the test-accuracy
#          difference early stop makes.
# Prints the ratios peer_ms / our_ms (> 1: we are faster) and the issue's targets.
# The runs are sequential: nothing else should run meanwhile. CI does not run this.
#
# Usage: bench/compare.sh
# Environment:
#   HAMDEQ      the tool (default: build/tools/hamdeq)
#   PEER        the peer (default: ../shared/bench/torch_peer.py)
#   PYTHON      default: /usr/bin/python3 (Debian's python3-torch)
#   DATA        MNIST-style directory (default: ../shared/data/mnist10k, else
#               /usr/share/datasets/fashion-mnist)
#   LAYERS      default: 784,512,10
#   VARIANTS    default: "ham ham-deq ham-eo ham-eo-deq"
#   ACC_EPOCHS  epochs of the accuracy runs (default: 10, the paper's)
#   OUT         directory for the raw outputs (default: a temporary one, removed)
set -euo pipefail
cd "$(dirname "$0")/.."

hamdeq=${HAMDEQ:-build/tools/hamdeq}
peer=${PEER:-../shared/bench/torch_peer.py}
python=${PYTHON:-/usr/bin/python3}
layers=${LAYERS:-784,512,10}
variants=${VARIANTS:-"ham ham-deq ham-eo ham-eo-deq"}
acc_epochs=${ACC_EPOCHS:-10}
if [ -n "${DATA:-}" ]; then
    data=$DATA
elif [ -d ../shared/data/mnist10k ]; then
    data=../shared/data/mnist10k
else
    data=/usr/share/datasets/fashion-mnist
fi

for f in "$hamdeq" "$peer" "$python"; do
    if [ ! -e "$f" ]; then
        echo "$0: $f not found (build the tool: meson setup build && ninja -C build; set" \
             "HAMDEQ, PEER or PYTHON)" >&2
        exit 2
    fi
done
if [ -n "${OUT:-}" ]; then
    out=$OUT
    mkdir -p "$out"
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
vlist=$(echo $variants | tr ' ' ',')

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "data: $data; layers: $layers; variants: $vlist"
echo "started $(date -u +%FT%TZ)"

for v in $variants; do
    for t in 1 2; do
        echo "peer $v --threads $t: forward" >&2
        "$python" "$peer" --variant "$v" --layers "$layers" --bench-only --threads "$t" \
            > "$out/peer-fwd-$v-$t.json"
        echo "peer $v --threads $t: one epoch" >&2
        "$python" "$peer" --variant "$v" --layers "$layers" --data "$data" --epochs 1 \
            --threads "$t" > "$out/peer-epoch-$v-$t.json"
    done
done

echo "libhamdeq: bench --perf" >&2
"$hamdeq" bench --perf --json --data "$data" --layers-list "$layers" --variants "$vlist" \
    > "$out/ours.json" 2> "$out/ours.log"
echo "libhamdeq: accuracy, fixed iterations and early stop ($acc_epochs epoch(s))" >&2
"$hamdeq" bench --json --quiet --data "$data" --layers "$layers" --variants "$vlist" \
    --epochs "$acc_epochs" --fixed-iters > "$out/acc-fixed.json"
"$hamdeq" bench --json --quiet --data "$data" --layers "$layers" --variants "$vlist" \
    --epochs "$acc_epochs" --tol 1e-4 > "$out/acc-early.json"
echo "finished $(date -u +%FT%TZ)"

"$python" - "$out" "$layers" $variants <<'EOF'
import json, os, sys

out, layers, variants = sys.argv[1], sys.argv[2], sys.argv[3:]

def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]

def last(path):
    return lines(path)[-1]

ours = {}
for r in lines(os.path.join(out, "ours.json")):
    ours[(r["case"], r["variant"], r["fixed_iters"])] = r["ms"]
acc = {}
for mode in ("fixed", "early"):
    for r in lines(os.path.join(out, "acc-%s.json" % mode)):
        acc[(r["variant"], mode)] = r["test_acc"]

def best(v, kind, key):
    vals = []
    for t in (1, 2):
        r = last(os.path.join(out, "peer-%s-%s-%d.json" % (kind, v, t)))
        vals.append((r[key], t))
    return min(vals)

rows, ok_all = [], True
print()
print("layers %s; peer: the faster of --threads 1 and 2 (threads in brackets); ratio = peer ms / our ms"
      % layers)
hdr = ("variant", "peer b1 ms", "ours", "ratio", "peer b64 ms", "ours", "ratio",
       "peer epoch s", "ours fixed s", "ratio", "ours early s", "ratio", "acc fixed", "acc early", "diff")
fmt = "%-11s %12s %9s %7s %12s %9s %7s %13s %12s %7s %12s %7s %9s %9s %7s"
print(fmt % hdr)
for v in variants:
    b1, t1 = best(v, "fwd", "fwd_ms_b1")
    b64, t64 = best(v, "fwd", "fwd_ms_b64")
    ep, te = best(v, "epoch", "sec_per_epoch")
    o1 = ours[("fwd_b1", v, True)]
    o64 = ours[("fwd_b64", v, True)]
    of = ours[("train_epoch", v, True)] / 1e3
    oe = ours[("train_epoch", v, False)] / 1e3
    r1, r64, rf, re_ = b1 / o1, b64 / o64, ep / of, ep / oe
    af, ae = acc[(v, "fixed")], acc[(v, "early")]
    d = 100.0 * (ae - af)
    print(fmt % (v, "%.3f [%d]" % (b1, t1), "%.4f" % o1, "%.1fx" % r1, "%.3f [%d]" % (b64, t64),
                 "%.3f" % o64, "%.1fx" % r64, "%.3f [%d]" % (ep, te), "%.3f" % of, "%.1fx" % rf,
                 "%.3f" % oe, "%.1fx" % re_, "%.2f%%" % (100 * af), "%.2f%%" % (100 * ae),
                 "%+.2f" % d))
    checks = [("fwd b1 >= 10x", r1 >= 10), ("fwd b64 >= 3x", r64 >= 3),
              ("epoch fixed >= 3x", rf >= 3), ("epoch early >= 10x peer fixed", re_ >= 10),
              ("accuracy within 0.5 point", abs(d) <= 0.5)]
    rows.append((v, checks))
print()
print("targets (issue 5):")
for v, checks in rows:
    print("  %-11s %s" % (v, "; ".join("%s %s" % (n, "met" if ok else "NOT met") for n, ok in checks)))
EOF
