#!/usr/bin/env bash
# Checks of the hamdeq tool's contract: exit codes (0 ok, 1 runtime, 2 usage), one
# error line on stderr, nothing on stdout on failure, exact JSON keys, and no crash on
# malformed IDX files. Usage: check_cli.sh HAMDEQ PYTHON3
set -uo pipefail
hamdeq=$1
python=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect CODE PATTERN ARGS...: exit status CODE; on failure one stderr line matching PATTERN.
expect() {
    local code=$1 pattern=$2
    shift 2
    "$hamdeq" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$code" ]; then
        fail "hamdeq $* exited $rc, expected $code; stderr: $(head -c 300 "$tmp/err")"
        return
    fi
    if [ "$code" -ne 0 ]; then
        local lines
        lines=$(wc -l <"$tmp/err")
        if [ "$lines" -ne 1 ] || ! grep -q -- "error: .*$pattern" "$tmp/err"; then
            fail "hamdeq $*: expected one error line matching '$pattern', got: $(cat "$tmp/err")"
        fi
        if [ -s "$tmp/out" ]; then
            fail "hamdeq $*: wrote to stdout on failure"
        fi
    fi
}

small=(solve --layers "4,3,2" --batch 2 --solvers picard)

# ---- help and version
expect 0 "" --version
grep -q "^hamdeq [0-9]" "$tmp/out" || fail "--version output: $(cat "$tmp/out")"
expect 0 "" --help
grep -q "solve" "$tmp/out" || fail "--help does not list solve"
expect 0 "" solve --help
grep -q -- "--layers" "$tmp/out" || fail "solve --help does not list --layers"
expect 0 "" help solve

# ---- usage errors: exit 2
"$hamdeq" >"$tmp/out" 2>"$tmp/err"
rc=$?
{ [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && grep -q "^Usage" "$tmp/err"; } ||
    fail "hamdeq without a command: exit $rc, expected 2 and usage on stderr"
expect 2 "unknown command" bogus
expect 2 "unknown option" --bogus
expect 2 "unknown option" solve --bogus
expect 2 "needs a value" solve --layers
expect 2 "needs 2 to" solve --layers 784
expect 2 "not a comma-separated" solve --layers 784,,10
expect 2 "not an integer" solve --layers 784,abc,10
expect 2 "not an integer" solve --layers 784,-5,10
expect 2 "not an integer" solve --layers 784,0,10
expect 2 "not an integer" solve --layers 99999999999,10
expect 2 "unknown Lagrangian" solve --lagrangian foo
expect 2 "one name for every layer" solve --lagrangian sigmoid,tanh
expect 2 "finite number" solve --beta nan
expect 2 "beta" solve --layers 4,3,2 --lagrangian softmax --beta -1
expect 2 "batch" solve --batch 0
expect 2 "integer" solve --batch 1e3
expect 2 "tol" solve --tol 0
expect 2 "tol" solve --tol 2
expect 2 "max-iter" solve --max-iter 0
expect 2 "unknown name" solve --operators sync,foo
expect 2 "unknown name" solve --solvers picard,foo
expect 2 "non-negative" solve --seed -1
expect 2 "unexpected argument" solve positional
expect 2 "takes no value" solve --json=1
expect 2 "model" solve --layers 100000,100000,10 --batch 1

# ---- runtime errors: exit 1, one line, for missing or malformed files
expect 1 "No such file" "${small[@]}" --input "$tmp/missing.idx"
expect 1 "directory" "${small[@]}" --input "$tmp"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02abcdefgh' >"$tmp/ok.idx"
gzip -c "$tmp/ok.idx" >"$tmp/ok.idx.gz"
head -c 20 "$tmp/ok.idx.gz" >"$tmp/truncated.idx.gz"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02abcde' >"$tmp/truncated.idx"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02abcdefghX' >"$tmp/trailing.idx"
printf 'P5\n28 28\n255\n' >"$tmp/magic.idx"
printf '\x00\x00\x08\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff' >"$tmp/absurd.idx"
printf '\x00\x00\x08\x03\x7f\xff\xff\xff\x00\x00\x10\x00\x00\x00\x10\x00' >"$tmp/huge.idx"
printf '\x00\x00\x08\x01\x00\x00\x00\x02ab' >"$tmp/labels.idx"
printf '\x00\x00\x0d\x03\x00\x00\x00\x02' >"$tmp/float.idx"
printf '\x00\x00\x08\x03\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x02' >"$tmp/zero.idx"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00' >"$tmp/header.idx"
printf '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbagegarbage' >"$tmp/corrupt.gz"
: >"$tmp/empty.idx"
expect 1 "truncated" "${small[@]}" --input "$tmp/truncated.idx"
expect 1 "truncated" "${small[@]}" --input "$tmp/truncated.idx.gz"
expect 1 "trailing" "${small[@]}" --input "$tmp/trailing.idx"
expect 1 "bad magic" "${small[@]}" --input "$tmp/magic.idx"
expect 1 "corrupt header" "${small[@]}" --input "$tmp/absurd.idx"
expect 1 "corrupt header" "${small[@]}" --input "$tmp/huge.idx"
expect 1 "labels" "${small[@]}" --input "$tmp/labels.idx"
expect 1 "unsigned bytes" "${small[@]}" --input "$tmp/float.idx"
expect 1 "is 0" "${small[@]}" --input "$tmp/zero.idx"
expect 1 "truncated IDX header" "${small[@]}" --input "$tmp/header.idx"
expect 1 "corrupt gzip" "${small[@]}" --input "$tmp/corrupt.gz"
expect 1 "not an IDX file" "${small[@]}" --input "$tmp/empty.idx"
# a well-formed file that does not fit the flags is a usage error
expect 2 "pixels" solve --batch 2 --input "$tmp/ok.idx"
expect 2 "fewer than --batch" solve --layers 4,3,2 --batch 3 --input "$tmp/ok.idx"

# ---- success: raw and gzipped IDX give the same numbers; JSON has the exact keys
expect 0 "" "${small[@]}" --input "$tmp/ok.idx" --json
cut -d, -f1-5 "$tmp/out" >"$tmp/raw.json"
expect 0 "" "${small[@]}" --input "$tmp/ok.idx.gz" --json
cut -d, -f1-5 "$tmp/out" >"$tmp/gz.json"
cmp -s "$tmp/raw.json" "$tmp/gz.json" || fail "raw and gzipped IDX inputs differ"

expect 0 "" solve --layers 16,12,8,4 --batch 8 --json
"$python" - "$tmp/out" <<'PY' || fail "JSON lines do not have the exact keys"
import json, sys
keys = ["operator", "solver", "samples", "iters_mean", "not_converged", "ms"]
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 8, "expected 8 lines (2 operators x 4 solvers), got %d" % len(lines)
seen = set()
for line in lines:
    obj = json.loads(line)
    assert list(obj) == keys, obj
    assert obj["operator"] in ("sync", "even-odd") and obj["solver"] in ("picard", "anderson", "broyden", "newton")
    assert isinstance(obj["samples"], int) and obj["samples"] == 8
    assert isinstance(obj["iters_mean"], float) and isinstance(obj["ms"], float)
    assert isinstance(obj["not_converged"], int) and 0 <= obj["not_converged"] <= 8
    seen.add((obj["operator"], obj["solver"]))
assert len(seen) == 8
PY

expect 0 "" solve --layers 16,12,8 --batch 4 --lagrangian shifted-sigmoid,tanh,softmax --beta 2 \
    --operators even-odd --solvers anderson,newton --threads 1 --repeat 2
grep -q "even-odd  newton" "$tmp/out" || fail "table lacks the even-odd newton row: $(cat "$tmp/out")"

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all CLI checks passed"
