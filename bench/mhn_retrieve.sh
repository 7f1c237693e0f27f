#!/usr/bin/env bash
# The mhn_retrieve case side by side: `hamdeq bench --perf --perf-cases mhn_retrieve`
# against the same retrieval written the obvious way in PyTorch
# (bench/mhn_retrieve_torch.py), alternating ABAB... for ROUNDS rounds (docs/performance.md).
# In each round the PyTorch script runs at each of PEER_THREADS (default 1 and 2) and the
# faster is kept. Prints the figures of both per round, then a Markdown table of the
# medians: queries per second, GFLOP/s, fraction of the sgemm rate (each side's own
# measurement of a 2048^3 product), mean evaluations per query, and the ratio peer time /
# our time (median and min-max over the rounds) against issue 11's targets (>= 60% of the
# sgemm rate, >= 1.5x the PyTorch script). Nothing else should run meanwhile. CI does not
# run this.
#
# The full case (60,000 patterns, 10,000 queries) costs about 190 GFLOP per 1,000 queries
# and evaluation: minutes per pass on 2 cores. PATTERNS and QUERIES shrink it.
#
# Usage: bench/mhn_retrieve.sh
# Environment:
#   HAMDEQ        the tool (default: build/tools/hamdeq)
#   PYTHON        default: /usr/bin/python3 (Debian's python3-torch)
#   DATA          MNIST-style directory (default: /usr/share/datasets/fashion-mnist)
#   PATTERNS      stored train images (default: 0, all)
#   QUERIES       t10k queries (default: 0, all)
#   BATCH         queries per solve, both sides (default: 1024)
#   ROUNDS        alternating rounds, at least 3 (default: 3)
#   PEER_THREADS  the PyTorch script's thread settings (default: 1,2)
#   THREADS       passed to hamdeq as --threads N when its `bench --perf --help` lists it
#   OUT           directory for the raw outputs (default: a temporary one, removed)
set -euo pipefail
cd "$(dirname "$0")/.."

hamdeq=${HAMDEQ:-build/tools/hamdeq}
python=${PYTHON:-/usr/bin/python3}
data=${DATA:-/usr/share/datasets/fashion-mnist}
patterns=${PATTERNS:-0}
queries=${QUERIES:-0}
batch=${BATCH:-1024}
rounds=${ROUNDS:-3}
peer_threads=${PEER_THREADS:-1,2}
# shellcheck source=SCRIPTDIR/common.sh
source bench/common.sh "$hamdeq" "$python"
ours_args=(--perf-cases mhn_retrieve --data "$data" --mhn-batch "$batch" --json --budget 0)
[ "$patterns" -gt 0 ] && ours_args+=(--mhn-patterns "$patterns")
[ "$queries" -gt 0 ] && ours_args+=(--mhn-queries "$queries")
ours_args+=(${threads_args[@]+"${threads_args[@]}"})

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "data: $data; patterns: ${patterns/#0/all}; queries: ${queries/#0/all}; batch: $batch;" \
     "rounds: $rounds; peer threads: $peer_threads"
echo "hamdeq bench --perf ${ours_args[*]}"
echo "$python bench/mhn_retrieve_torch.py --data $data --patterns $patterns --queries" \
     "$queries --batch $batch --threads $peer_threads --budget 0"
echo "started $(date -u +%FT%TZ); $(load)"
for r in $(seq 1 "$rounds"); do
    echo "round $r: PyTorch" >&2
    "$python" bench/mhn_retrieve_torch.py --data "$data" --patterns "$patterns" \
        --queries "$queries" --batch "$batch" --threads "$peer_threads" --budget 0 \
        > "$out/peer-$r.json" 2> "$out/peer-$r.log"
    echo "round $r: libhamdeq" >&2
    "$hamdeq" bench --perf "${ours_args[@]}" > "$out/ours-$r.json" 2> "$out/ours-$r.log"
done
echo "finished $(date -u +%FT%TZ); $(load)"
grep -h "beta_s" "$out/ours-1.log" "$out/peer-1.log" | sed 's/^/  /'

"$python" - "$out" "$rounds" "$hamdeq" <<'EOF'
import json, os, re, statistics, sys

out, rounds = sys.argv[1], int(sys.argv[2])

def last(path, **match):
    objs = [json.loads(l) for l in open(path) if l.strip()]
    objs = [o for o in objs if all(o.get(k) == v for k, v in match.items())]
    return objs[-1]

sgemm_re = re.compile(r"^sgemm \d+\^3: ([0-9.]+) GFLOP/s")
rows = []
for r in range(1, rounds + 1):
    peer = last(os.path.join(out, "peer-%d.json" % r), best=True)
    ours = last(os.path.join(out, "ours-%d.json" % r), case="mhn_retrieve")
    sg = [float(m.group(1)) for l in open(os.path.join(out, "ours-%d.log" % r))
          for m in [sgemm_re.match(l)] if m]
    rows.append((peer, ours, sg[0] if sg else float("nan")))

print()
print("| round | PyTorch q/s (threads) | GFLOP/s | % of its sgemm | iters | libhamdeq q/s | GFLOP/s | % of sgemm | iters | ratio |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for i, (p, o, sg) in enumerate(rows):
    print("| %d | %.1f (%d) | %.1f | %.0f%% (%.0f) | %.3f | %.1f | %.1f | %.0f%% (%.0f) | %.3f | %.2fx |"
          % (i + 1, p["queries_per_sec"], p["threads"], p["gflops"], 100 * p["sgemm_fraction"],
             p["sgemm_gflops"], p["iters_mean"], o["queries_per_sec"], o["gflops"],
             100 * o["sgemm_fraction"], sg, o["iters_mean"], p["ms"] / o["ms"]))

med = statistics.median
ratio = [p["ms"] / o["ms"] for p, o, _ in rows]
frac = [o["sgemm_fraction"] for _, o, _ in rows]
p0, o0 = rows[0][0], rows[0][1]
print()
print("### mhn_retrieve: %d patterns, %d queries, batch %d; median of %d alternating rounds"
      % (o0["patterns"], o0["queries"], o0["batch"], rounds))
print()
print("| | queries/s | GFLOP/s | % of sgemm | mean evaluations | not converged |")
print("|---|---:|---:|---:|---:|---:|")
print("| PyTorch (faster of its thread settings) | %.1f | %.1f | %.0f%% | %.3f | %d |"
      % (med([p["queries_per_sec"] for p, _, _ in rows]), med([p["gflops"] for p, _, _ in rows]),
         100 * med([p["sgemm_fraction"] for p, _, _ in rows]), p0["iters_mean"],
         p0.get("not_converged", 0)))
print("| libhamdeq | %.1f | %.1f | %.0f%% | %.3f | %d |"
      % (med([o["queries_per_sec"] for _, o, _ in rows]), med([o["gflops"] for _, o, _ in rows]),
         100 * med(frac), o0["iters_mean"], o0["not_converged"]))
print()
print("ratio PyTorch time / libhamdeq time: median %.2fx, range %.2f-%.2fx (target >= 1.5x: %s)"
      % (med(ratio), min(ratio), max(ratio), "met" if med(ratio) >= 1.5 else "not met"))
print("libhamdeq at %.0f%% of the sgemm rate, range %.0f-%.0f%% (target >= 60%%: %s)"
      % (100 * med(frac), 100 * min(frac), 100 * max(frac), "met" if med(frac) >= 0.6 else "not met"))
EOF
