# shellcheck shell=bash
# Shared by the CLI test scripts (sourced, not run): a temp dir removed on exit, a
# failure counter, and `expect`, the check of the tool's error contract. Needs $hamdeq.
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
