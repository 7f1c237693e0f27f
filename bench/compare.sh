#!/usr/bin/env bash
# libhamdeq side by side with the PyTorch peer (../shared/bench/torch_peer.py) on this
# machine (docs/performance.md). The two alternate, ABAB..., for ROUNDS rounds, so that a
# burst of load elsewhere on the machine hits both sides rather than deciding a ratio. One
# round:
#   A, peer: for each variant --bench-only (forward at batch 64 and 1, fixed 40 iterations)
#          and --epochs 1 (one epoch, fixed 40 forward / 8 backward), each with --threads 1
#          and --threads 2; the faster of the two is kept, per measurement and round;
#   B, ours: hamdeq bench --perf --json on the same layers and data, fixed 40/8 and early
#          stop at 1e-4 (each case the median of its own repeats).
# Then, once (the results are deterministic): hamdeq bench --json (train ACC_EPOCHS epochs,
# the paper's 10 by default, then evaluate) with --fixed-iters and with --tol 1e-4, the
# test-accuracy difference early stop makes.
# Prints, per variant and case, the median over the rounds of the ratio peer ms / our ms
# (> 1: we are faster) with its min-max range, our "% floor" (median), and issue 11's
# targets, as Markdown tables. Nothing else should run meanwhile; `uptime` is printed
# before and after. CI does not run this.
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
#   ROUNDS      alternating rounds, at least 3 (default: 3)
#   THREADS     passed to hamdeq as --threads N when its `bench --perf --help` lists that
#               flag (default: unset, the tool's own default)
#   ACC_EPOCHS  epochs of the accuracy runs (default: 10, the paper's; 0 skips them)
#   OUT         directory for the raw outputs (default: a temporary one, removed)
set -euo pipefail
cd "$(dirname "$0")/.."

hamdeq=${HAMDEQ:-build/tools/hamdeq}
peer=${PEER:-../shared/bench/torch_peer.py}
python=${PYTHON:-/usr/bin/python3}
layers=${LAYERS:-784,512,10}
variants=${VARIANTS:-"ham ham-deq ham-eo ham-eo-deq"}
rounds=${ROUNDS:-3}
acc_epochs=${ACC_EPOCHS:-10}
if [ -n "${DATA:-}" ]; then
    data=$DATA
elif [ -d ../shared/data/mnist10k ]; then
    data=../shared/data/mnist10k
else
    data=/usr/share/datasets/fashion-mnist
fi
# shellcheck source=SCRIPTDIR/common.sh
source bench/common.sh "$hamdeq" "$peer" "$python"
vlist=$(echo $variants | tr ' ' ',')

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "data: $data; layers: $layers; variants: $vlist; rounds: $rounds;" \
     "hamdeq ${threads_args[*]:-(default threads)}"
echo "started $(date -u +%FT%TZ); $(load)"

for r in $(seq 1 "$rounds"); do
    for v in $variants; do
        for t in 1 2; do
            echo "round $r: peer $v --threads $t: forward" >&2
            "$python" "$peer" --variant "$v" --layers "$layers" --bench-only --threads "$t" \
                > "$out/peer-fwd-$v-$t-$r.json"
            echo "round $r: peer $v --threads $t: one epoch" >&2
            "$python" "$peer" --variant "$v" --layers "$layers" --data "$data" --epochs 1 \
                --threads "$t" > "$out/peer-epoch-$v-$t-$r.json"
        done
    done
    echo "round $r: libhamdeq bench --perf" >&2
    "$hamdeq" bench --perf --json --data "$data" --layers-list "$layers" --variants "$vlist" \
        --perf-cases fwd_b1,fwd_b64,train_epoch ${threads_args[@]+"${threads_args[@]}"} \
        > "$out/ours-$r.json" 2> "$out/ours-$r.log"
done
if [ "$acc_epochs" -gt 0 ]; then
    echo "libhamdeq: accuracy, fixed iterations and early stop ($acc_epochs epoch(s))" >&2
    "$hamdeq" bench --json --quiet --data "$data" --layers "$layers" --variants "$vlist" \
        --epochs "$acc_epochs" --fixed-iters > "$out/acc-fixed.json"
    "$hamdeq" bench --json --quiet --data "$data" --layers "$layers" --variants "$vlist" \
        --epochs "$acc_epochs" --tol 1e-4 > "$out/acc-early.json"
fi
echo "finished $(date -u +%FT%TZ); $(load)"

"$python" - "$out" "$layers" "$rounds" "$acc_epochs" $variants <<'EOF'
import json, os, re, statistics, sys

out, layers, rounds, acc_epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
variants = sys.argv[5:]

def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]

# ours[r][(case, variant, fixed)] = ms; floor[r][same] = % floor (from the stderr lines)
floor_re = re.compile(r"^(\S+) (\S+) (\S+) (fixed|early): .* \(([0-9.]+)% of it\)")
ours, floor = [], []
for r in range(1, rounds + 1):
    ours.append({(o["case"], o["variant"], o["fixed_iters"]): o["ms"]
                 for o in lines(os.path.join(out, "ours-%d.json" % r)) if o["layers"] == layers})
    fl = {}
    with open(os.path.join(out, "ours-%d.log" % r)) as f:
        for l in f:
            m = floor_re.match(l)
            if m and m.group(1) == layers:
                fl[(m.group(2), m.group(3), m.group(4) == "fixed")] = float(m.group(5))
    floor.append(fl)

def peer_best(v, kind, key, r):
    """The faster of --threads 1 and 2 in round r: (ms or s, threads)."""
    vals = []
    for t in (1, 2):
        o = lines(os.path.join(out, "peer-%s-%s-%d-%d.json" % (kind, v, t, r)))[-1]
        vals.append((o[key], t))
    return min(vals)

# (label, peer measurement, our case, our mode, target ratio or None)
def target(v, case):
    return {"fwd_b1": None, "fwd_b64": 4.0, "epoch_fixed": 4.0,
            "epoch_early": 15.0 if v.endswith("-deq") else 8.0}[case]

cases = [("fwd_b1", "forward batch 1, fixed 40", ("fwd", "fwd_ms_b1", 1.0), ("fwd_b1", True)),
         ("fwd_b64", "forward batch 64, fixed 40", ("fwd", "fwd_ms_b64", 1.0), ("fwd_b64", True)),
         ("epoch_fixed", "training epoch, fixed 40/8", ("epoch", "sec_per_epoch", 1e3),
          ("train_epoch", True)),
         ("epoch_early", "training epoch, early stop 1e-4 (peer: fixed)",
          ("epoch", "sec_per_epoch", 1e3), ("train_epoch", False))]

def rng(xs, fmt):
    return (fmt + "-" + fmt) % (min(xs), max(xs))

print()
print("### %s: median over %d alternating rounds (ratio = peer ms / our ms)" % (layers, rounds))
print()
print("| variant | case | peer ms (threads) | ours ms | ratio | range | target | % floor | floor range |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
verdicts = []
for v in variants:
    for key, label, (kind, pkey, scale), (ocase, ofixed) in cases:
        peer, thr, mine, ratio, fl = [], [], [], [], []
        for r in range(rounds):
            p, t = peer_best(v, kind, pkey, r + 1)
            p *= scale
            o = ours[r][(ocase, v, ofixed)]
            peer.append(p)
            thr.append(t)
            mine.append(o)
            ratio.append(p / o)
            if (ocase, v, ofixed) in floor[r]:
                fl.append(floor[r][(ocase, v, ofixed)])
        med = statistics.median(ratio)
        tg = target(v, key)
        tg_s = ">= %gx" % tg if tg else "no worse than before"
        fl_s = "%.0f%%" % statistics.median(fl) if fl else "-"
        print("| %s | %s | %.3f (%s) | %.4f | %.1fx | %s | %s | %s | %s |"
              % (v, label, statistics.median(peer), ",".join(map(str, thr)),
                 statistics.median(mine), med, rng(ratio, "%.1f"), tg_s, fl_s,
                 rng(fl, "%.0f") if fl else "-"))
        if tg:
            verdicts.append((v, "%s %s" % (label, tg_s), med >= tg))
        if fl:  # above 100%: the floor itself is wrong (see the note below)
            mf = statistics.median(fl)
            verdicts.append((v, "%s at least 60%% of its floor" % label,
                             None if mf > 100.0 else mf >= 60.0))

if acc_epochs > 0:
    acc = {}
    for mode in ("fixed", "early"):
        for o in lines(os.path.join(out, "acc-%s.json" % mode)):
            acc[(o["variant"], mode)] = o["test_acc"]
    print()
    print("### Test accuracy after %d epoch(s): fixed 40/8 against early stop at 1e-4" % acc_epochs)
    print()
    print("| variant | fixed | early stop | difference (points) |")
    print("|---|---:|---:|---:|")
    for v in variants:
        af, ae = acc[(v, "fixed")], acc[(v, "early")]
        d = 100.0 * (ae - af)
        print("| %s | %.2f%% | %.2f%% | %+.2f |" % (v, 100 * af, 100 * ae, d))
        verdicts.append((v, "early-stop accuracy within 0.5 point", abs(d) <= 0.5))

over = sorted({v for r in floor for (c, v, f), x in r.items() if x > 100.0})
if over:
    print()
    print("Note: %% floor above 100%% (%s): a floor longer than the case itself means the "
          "machine's rates were measured slower than the case ran, i.e. the machine was busy "
          "while they were measured; those floors say nothing." % ", ".join(over))
print()
print("Targets (issue 11; the median ratio decides):")
print()
for v, what, ok in verdicts:
    print("- %s: %s: %s" % (v, what, "undecided (floor above 100%)" if ok is None
                            else "met" if ok else "**not met**"))
EOF
