#!/bin/sh
# Issue 10's measurements in one run: which fixed point Anderson, Broyden and Newton
# return with HAM_OPT_ATTRACTOR_SAFE off and on, against the attractor of the energy
# descent (reference: even-odd Picard, tol 1e-6, at most 1000 evaluations; every solve
# uses the same tolerance and limit). Columns (bench/attractor.c): samples where both
# converged, how many agree with the reference (output layer within 1e-3 relative),
# predicted labels that differ, mean evaluations per sample (JVPs counted as
# evaluations) and their ratio to the reference's, converged samples that are unstable
# (spectral radius of G' >= 1, 50 power iterations), and the steps the mode refused.
# Modes: off = HAM_OPT_ATTRACTOR_SAFE 0, safe = 1 (the even-odd default), E = 2 (with
# the energy test), chk = 1 with HAM_OPT_STABILITY_CHECK 50 (its evaluations include the
# check's JVPs; "flagged": samples it still reports HAM_SAMPLE_UNSTABLE).
#
# Usage: bench/attractor.sh [BUILD_DIR]      (default: build; run from the source root)
#   MNIST    MNIST-style directory (default: ../shared/data/mnist10k)
#   FASHION  Fashion-MNIST directory (default: /usr/share/datasets/fashion-mnist; when it
#            is missing, MNIST's t10k images are used for the 5-layer case and it says so)
set -eu
build=${1:-build}
mnist=${MNIST:-../shared/data/mnist10k}
fashion=${FASHION:-/usr/share/datasets/fashion-mnist}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LD_LIBRARY_PATH="$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
${CC:-cc} -O2 -o "$tmp/attractor" bench/attractor.c -Iinclude -Iinclude/hamdeq \
    -I"$build/include/hamdeq" -L"$build/lib" -lhamdeq -lm
"$build/tools/hamdeq" train --data "$mnist" --epochs 2 --variant ham-eo-deq \
    --save "$tmp/m.ham" >/dev/null
m_img="$mnist/t10k-images-idx3-ubyte.gz"
f_img="$fashion/t10k-images-idx3-ubyte.gz"
f_desc="first 100 Fashion-MNIST test images"
if [ ! -e "$f_img" ]; then
    f_img=$m_img
    f_desc="first 100 MNIST t10k images ($fashion is missing)"
fi
run() {
    echo "== $1"
    "$tmp/attractor" "$2" "$3" "$4" "$5"
    echo
}
run "784-512-10 trained (2 epochs ham-eo-deq, MNIST-10k), ss,tanh,tanh, 200 images" \
    "$tmp/m.ham" ss,tanh,tanh "$m_img" 200
run "784-512-10 trained, tanh x3, 200 images" "$tmp/m.ham" tanh,tanh,tanh "$m_img" 200
run "784-512-10 trained, ss,identity,ss, 200 images" "$tmp/m.ham" ss,identity,ss "$m_img" 200
run "784-512-10 Xavier seed 1, tanh x3, 200 images" "xavier:784,512,10:1" tanh,tanh,tanh \
    "$m_img" 200
run "784-1280-200-10 Xavier seed 7 (shifted sigmoid), $f_desc" "xavier:784,1280,200,10:7" - \
    "$f_img" 100
run "784-1280-510-200-10 Xavier seed 7 (shifted sigmoid), $f_desc" \
    "xavier:784,1280,510,200,10:7" - "$f_img" 100
run "paper: 784-512-10 Xavier seed 1, shifted sigmoid, 200 images" "xavier:784,512,10:1" - \
    "$m_img" 200
run "paper: 784-512-10 trained, shifted sigmoid, 200 images" "$tmp/m.ham" - "$m_img" 200
