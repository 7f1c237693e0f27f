#!/usr/bin/env bash
# The MPI job, called by .ci/run after the main build (docs/distributed.md):
#   .ci/mpi.sh BUILDDIR
# Needs the Debian packages openmpi-bin and libopenmpi-dev (installed here when missing,
# as root). Reconfigures BUILDDIR with -Dmpi=enabled (so a missing MPI is an error, not a
# silent skip), builds hamdeq-mpi and tests/mpi/model_diff, and runs tests/mpi/run.sh:
# mpirun --allow-run-as-root --oversubscribe -np 2 and -np 3 (uneven shards). Then checks
# that a build with -Dmpi=disabled has no hamdeq-mpi and still passes `meson test`'s
# trainer suite, so the default build does not need MPI.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: .ci/mpi.sh BUILDDIR}
export DEBIAN_FRONTEND=noninteractive
packages=(openmpi-bin libopenmpi-dev)

step() { printf '\n=== %s\n' "$*"; }

if ! command -v mpirun >/dev/null || ! command -v mpicc >/dev/null; then
    step "apt-get install ${packages[*]}"
    apt-get update
    apt-get install -y "${packages[@]}"
fi

step "hamdeq-mpi: meson configure $build -Dmpi=enabled"
meson configure "$build" -Dmpi=enabled
ninja -C "$build"

step "MPI tests: tests/mpi/run.sh $build"
tests/mpi/run.sh "$build"

step "without MPI: -Dmpi=disabled builds no hamdeq-mpi and links no MPI"
nompi=$(mktemp -d)
trap 'rm -rf "$nompi"' EXIT
meson setup "$nompi" --buildtype=release -Dmpi=disabled
ninja -C "$nompi"
if [ -e "$nompi/tools/mpi/hamdeq-mpi" ]; then
    echo ".ci/mpi.sh: -Dmpi=disabled built hamdeq-mpi" >&2
    exit 1
fi
OPENBLAS_NUM_THREADS=1 meson test -C "$nompi" --print-errorlogs trainer cli
echo ".ci/mpi.sh: passed"
