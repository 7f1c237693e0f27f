#!/usr/bin/env bash
# Checks of the Rust bindings against the library in BUILDDIR, without installing
# anything and without crates.io:
#
#     bindings/rust/ci.sh BUILDDIR        (from the repository root)
#
# 1. cargo fmt --check (when rustfmt is there);
# 2. cargo test --offline: both crates, their integration tests and doc tests (the
#    README's quick start among them), linked through BUILDDIR's uninstalled pkg-config
#    file;
# 3. the retrieve example, whose output must equal that of BUILDDIR's C example;
# 4. the train example: one epoch on ../shared/data/mnist10k when it exists (at least 60%
#    test accuracy), else on a small IDX set written here; it saves, reloads and
#    evaluates the model, and checks the reloaded model is the same.
#
# Needs: cargo and rustc (tested with 1.95), pkg-config, a C compiler (cc or $CC).
set -euo pipefail

BUILDDIR=${1:?usage: bindings/rust/ci.sh BUILDDIR}
[[ -d $BUILDDIR ]] || { echo "rust: no build directory $BUILDDIR" >&2; exit 2; }
BUILDDIR=$(cd "$BUILDDIR" && pwd)
ROOT=$(pwd)
HERE=$ROOT/bindings/rust
[[ -f $HERE/Cargo.toml ]] || { echo "rust: run from the repository root" >&2; exit 2; }
PC=$BUILDDIR/meson-uninstalled/hamdeq-uninstalled.pc
[[ -f $PC ]] || { echo "rust: $PC not found (meson writes it at setup)" >&2; exit 2; }

export PKG_CONFIG_PATH=$BUILDDIR/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export CARGO_TARGET_DIR=$HERE/target
export CARGO_NET_OFFLINE=true
export CARGO_TERM_COLOR=never
# One BLAS thread: reproducible numbers, and no oversubscription under cargo's test
# threads on a small machine.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

declare -a SUMMARY=()
FAILED=0
record() { # NAME STATUS SECONDS [DETAIL]
    SUMMARY+=("$(printf '%-4s %-34s %4ss  %s' "$2" "$1" "$3" "${4:-}")")
    [[ $2 == PASS ]] || FAILED=1
}

# --- 1. formatting -------------------------------------------------------------------
t0=$SECONDS
if cargo fmt --version >/dev/null 2>&1; then
    if (cd "$HERE" && cargo fmt --all --check) >"$WORK/fmt.log" 2>&1; then
        record "cargo fmt --check" PASS $((SECONDS - t0))
    else
        cat "$WORK/fmt.log"
        record "cargo fmt --check" FAIL $((SECONDS - t0))
    fi
else
    record "cargo fmt --check" PASS 0 "(rustfmt not installed: skipped)"
fi

# --- 2. cargo test ---------------------------------------------------------------------
t0=$SECONDS
echo "== cargo test --offline (PKG_CONFIG_PATH=$BUILDDIR/meson-uninstalled)"
if (cd "$HERE" && cargo test --offline --workspace --no-fail-fast) >"$WORK/test.log" 2>&1; then
    status=PASS
else
    status=FAIL
fi
grep -E '^(test |     Running|   Doc-tests|test result|error)' "$WORK/test.log" || true
passed=$(awk '/^test result:/ {p += $4} END {print p + 0}' "$WORK/test.log")
failed=$(awk '/^test result:/ {f += $6} END {print f + 0}' "$WORK/test.log")
if [[ $status == FAIL ]]; then
    tail -n 60 "$WORK/test.log"
fi
# the README's quick start must have run (it is a doc test of the hamdeq crate)
if ! grep -Eq '^test hamdeq/src/lib.rs - ReadmeDoctests .* ok$' "$WORK/test.log"; then
    echo "rust: the README quick start did not run as a doc test" >&2
    status=FAIL
fi
record "cargo test (sys, safe, doc tests)" $status $((SECONDS - t0)) "$passed passed, $failed failed"

# --- 3. retrieve example ---------------------------------------------------------------
t0=$SECONDS
echo "== example retrieve"
status=PASS
detail=""
if (cd "$HERE" && cargo run --offline -q --example retrieve) >"$WORK/retrieve.txt" 2>"$WORK/retrieve.err"; then
    cat "$WORK/retrieve.txt"
    C_EXAMPLE=$BUILDDIR/examples/example-retrieve
    if [[ -x $C_EXAMPLE ]]; then
        "$C_EXAMPLE" >"$WORK/retrieve-c.txt"
        if diff -u "$WORK/retrieve-c.txt" "$WORK/retrieve.txt"; then
            detail="output identical to the C example's"
        else
            status=FAIL
            detail="output differs from the C example's"
        fi
    else
        detail="(no C example in $BUILDDIR: not compared)"
    fi
else
    cat "$WORK/retrieve.txt" "$WORK/retrieve.err"
    status=FAIL
fi
record "example retrieve" $status $((SECONDS - t0)) "$detail"

# --- 4. train example ------------------------------------------------------------------
be32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)))"; }
# A small MNIST-style directory: 10 classes of 28 x 28 images, class c a bright bar on
# rows 2c+4 and 2c+5; 600 training and 200 test images, classes in turn.
write_toy_idx() { # DIR
    local dir=$1 c r split n
    for ((c = 0; c < 10; c++)); do
        for ((r = 0; r < 28; r++)); do
            if ((r == 2 * c + 4 || r == 2 * c + 5)); then
                printf '\xff%.0s' {1..28}
            else
                printf '\x00%.0s' {1..28}
            fi
        done
    done >"$dir/block" # one image of each class, 7840 bytes
    for split in train t10k; do
        n=$([[ $split == train ]] && echo 600 || echo 200)
        { printf '\x00\x00\x08\x03'; be32 "$n"; be32 28; be32 28
          for ((r = 0; r < n / 10; r++)); do cat "$dir/block"; done
        } >"$dir/$split-images-idx3-ubyte"
        { printf '\x00\x00\x08\x01'; be32 "$n"
          for ((r = 0; r < n / 10; r++)); do printf '\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09'; done
        } >"$dir/$split-labels-idx1-ubyte"
    done
    rm "$dir/block"
}

t0=$SECONDS
DATA=$ROOT/../shared/data/mnist10k
if [[ -d $DATA ]]; then
    MIN_ACCURACY=60
else
    DATA=$WORK/toy-idx
    mkdir -p "$DATA"
    write_toy_idx "$DATA"
    MIN_ACCURACY=0
fi
echo "== example train $DATA"
status=PASS
detail=""
if (cd "$HERE" && cargo run --offline -q --example train -- "$DATA" "$WORK/model.ham") >"$WORK/train.txt" 2>&1; then
    cat "$WORK/train.txt"
    accuracy=$(sed -n 's/^test accuracy of the loaded model: \([0-9.]*\)%.*/\1/p' "$WORK/train.txt")
    if [[ -z $accuracy || ! -s $WORK/model.ham ]]; then
        status=FAIL
        detail="no accuracy printed or no model saved"
    elif awk -v a="$accuracy" -v m="$MIN_ACCURACY" 'BEGIN {exit !(a >= m)}'; then
        detail="test accuracy $accuracy% on $(basename "$DATA")"
    else
        status=FAIL
        detail="test accuracy $accuracy% < $MIN_ACCURACY%"
    fi
else
    cat "$WORK/train.txt"
    status=FAIL
fi
record "example train" $status $((SECONDS - t0)) "$detail"

echo
echo "== Rust bindings: summary ($(rustc --version))"
printf '%s\n' "${SUMMARY[@]}"
if ((FAILED)); then
    echo "rust: FAILED"
    exit 1
fi
echo "rust: all checks passed"
