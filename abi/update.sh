#!/usr/bin/env bash
# Regenerates the ABI baseline abi/libhamdeq.so.0.abi from this tree (docs/api.md, "ABI
# policy"): abi/check.sh --update. Prints abidiff from the old baseline to the new one.
#   abi/update.sh [BUILDDIR]   (default build-abi, set up with --buildtype=debug if missing)
exec "$(dirname "$0")/check.sh" --update "$@"
