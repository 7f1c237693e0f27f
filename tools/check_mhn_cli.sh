#!/usr/bin/env bash
# Checks of 'hamdeq phase' and 'hamdeq retrieve' (docs/mhn.md): exit codes (0 ok,
# 1 runtime, 2 usage), one error line on stderr and nothing on stdout on failure, exact
# JSON keys, the phase transition of a 3-pattern simplex, valid SVG written atomically,
# retrieval on a tiny IDX data set the script writes. Usage: check_mhn_cli.sh HAMDEQ PYTHON3
set -uo pipefail
hamdeq=$1
python=$2
# shellcheck source=SCRIPTDIR/cli_test_lib.sh
source "$(dirname "$0")/cli_test_lib.sh"

# ---- help
expect 0 "" --help
grep -q "phase" "$tmp/out" || fail "--help does not list phase"
grep -q "retrieve" "$tmp/out" || fail "--help does not list retrieve"
expect 0 "" phase --help
grep -q -- "--beta-steps" "$tmp/out" || fail "phase --help does not list --beta-steps"
expect 0 "" help retrieve
grep -q -- "--mask" "$tmp/out" || fail "retrieve --help does not list --mask"

# ---- phase: usage errors
expect 2 "too small" phase --patterns 5 --dim 3
expect 2 "patterns" phase --patterns 1
expect 2 "norm" phase --norm 0
expect 2 "norm" phase --norm -2
expect 2 "finite number" phase --norm nan
expect 2 "beta" phase --beta-min 3 --beta-max 1
expect 2 "beta" phase --beta-min 0 --beta-max 1
expect 2 "beta" phase --beta-min -1
expect 2 "beta-steps" phase --beta-steps 0
expect 2 "starts" phase --starts 0
expect 2 "unknown name" phase --solver foo
expect 2 "tol" phase --tol 0
expect 2 "cluster-tol" phase --cluster-tol 0
expect 2 "unknown option" phase --bogus
expect 2 "plot" phase --plot ""
expect 1 "cannot write" phase --patterns 3 --dim 2 --beta-steps 2 --starts 5 \
    --plot "$tmp/no/such/dir/p.svg"

# ---- phase: a 3-pattern simplex (beta_s = 2): one minimum at 0.5, three at 6
expect 0 "" phase --patterns 3 --dim 2 --beta-min 0.5 --beta-max 6 --beta-steps 3 --starts 40 \
    --json --plot "$tmp/phase.svg"
"$python" - "$tmp/out" "$tmp/phase.svg" <<'EOF' || fail "phase --json / --plot output"
import json, math, sys, xml.etree.ElementTree as ET
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 4, lines
rows = [json.loads(l) for l in lines]
for r in rows[:3]:
    assert list(r) == ["beta", "distinct_minima", "mean_attractor"], r
    assert isinstance(r["beta"], float), r  # floats print as floats, 6 as 6.0
    assert isinstance(r["distinct_minima"], int) and isinstance(r["mean_attractor"], bool), r
assert [r["beta"] for r in rows[:3]] == [0.5, 3.25, 6], rows
assert rows[0]["distinct_minima"] == 1 and rows[0]["mean_attractor"] is True, rows[0]
assert rows[2]["distinct_minima"] == 3 and rows[2]["mean_attractor"] is False, rows[2]
s = rows[3]
assert list(s) == ["beta_s", "beta_pattern_minima"], s
assert abs(s["beta_s"] - 2.0) < 1e-4 and isinstance(s["beta_s"], float), s
assert s["beta_pattern_minima"] in (3.25, 6), s
root = ET.parse(sys.argv[2]).getroot()
assert root.tag.endswith("svg"), root.tag
EOF
ls "$tmp" | grep -q "tmp" && fail "a temporary plot file was left behind: $(ls "$tmp")"

# no pattern minima in the sweep: the summary says null
expect 0 "" phase --patterns 3 --dim 2 --beta-min 0.5 --beta-max 1 --beta-steps 2 --starts 10 \
    --json
tail -n 1 "$tmp/out" | grep -q '"beta_pattern_minima": null' ||
    fail "phase: expected a null beta_pattern_minima, got $(tail -n 1 "$tmp/out")"
# the table, with every solver
for s in picard anderson broyden newton; do
    expect 0 "" phase --patterns 4 --dim 5 --beta-steps 3 --starts 20 --solver $s
    grep -q "beta_s" "$tmp/out" || fail "phase --solver $s: no table"
done

# ---- retrieve: a tiny IDX data set (12 images of 4 x 4, labels), raw and gzip
"$python" - "$tmp/data" <<'EOF'
import gzip, os, random, struct, sys
d = sys.argv[1]
os.makedirs(d)
random.seed(3)
n, rows, cols = 12, 4, 4
pix = bytes(random.choice((0, 40, 255)) for _ in range(n * rows * cols))
img = struct.pack(">IIII", 0x803, n, rows, cols) + pix
lab = struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))
open(os.path.join(d, "train-images-idx3-ubyte"), "wb").write(img)
open(os.path.join(d, "train-labels-idx1-ubyte"), "wb").write(lab)
with gzip.open(os.path.join(d, "t10k-images-idx3-ubyte.gz"), "wb") as f:
    f.write(img)
with gzip.open(os.path.join(d, "t10k-labels-idx1-ubyte.gz"), "wb") as f:
    f.write(lab)
os.makedirs(d + "-bad")
open(os.path.join(d + "-bad", "train-images-idx3-ubyte"), "wb").write(img[:40])
open(os.path.join(d + "-bad", "train-labels-idx1-ubyte"), "wb").write(lab)
EOF

expect 0 "" retrieve --data "$tmp/data" --patterns 3,12 --beta 1,200 --queries 6 --mask 0.1 \
    --noise 0 --solvers picard,anderson,broyden,newton --json --plot "$tmp/r.svg"
"$python" - "$tmp/out" "$tmp/r.svg" <<'EOF' || fail "retrieve --json / --plot output"
import json, sys, xml.etree.ElementTree as ET
rows = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
assert len(rows) == 2 * 2 * 4, len(rows)
for r in rows:
    assert list(r) == ["patterns", "beta", "solver", "accuracy", "iters_mean",
                       "not_converged"], r
    assert r["patterns"] in (3, 12) and r["solver"] in ("picard", "anderson", "broyden",
                                                         "newton"), r
    assert 0.0 <= r["accuracy"] <= 1.0 and r["iters_mean"] >= 1 and r["not_converged"] >= 0, r
    assert isinstance(r["beta"], float) and isinstance(r["accuracy"], float), r
# light corruption and beta = 200 on 3 well-separated patterns: everything comes back
for r in rows:
    if r["patterns"] == 3 and r["beta"] == 200:
        assert r["accuracy"] == 1.0, r
root = ET.parse(sys.argv[2]).getroot()
assert root.tag.endswith("svg"), root.tag
EOF
expect 0 "" retrieve --data "$tmp/data" --split t10k --patterns 5 --beta 50 --queries 3 \
    --solvers picard
grep -q "picard" "$tmp/out" || fail "retrieve: no table"

# ---- retrieve: errors
expect 2 "data" retrieve
expect 1 "no-such-dir" retrieve --data "$tmp/no-such-dir"
expect 1 "" retrieve --data "$tmp/data-bad" --patterns 2
expect 2 "holds only 12" retrieve --data "$tmp/data" --patterns 13
expect 2 "out of range" retrieve --data "$tmp/data" --patterns 0
expect 2 "out of range" retrieve --data "$tmp/data" --beta 0
expect 2 "finite number" retrieve --data "$tmp/data" --beta 1,abc
expect 2 "comma-separated" retrieve --data "$tmp/data" --beta 1,,2
expect 2 "mask" retrieve --data "$tmp/data" --mask 1.5
expect 2 "noise" retrieve --data "$tmp/data" --noise -1
expect 2 "unknown name" retrieve --data "$tmp/data" --solvers foo
expect 2 "queries" retrieve --data "$tmp/data" --queries 0
expect 1 "cannot write" retrieve --data "$tmp/data" --patterns 3 --beta 5 --queries 2 \
    --plot "$tmp/no/such/dir/r.svg"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all MHN CLI checks passed"
