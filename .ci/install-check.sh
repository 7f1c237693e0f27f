#!/usr/bin/env bash
# Installs a configured build into a temporary DESTDIR and checks what a user gets:
# the header, the library's SONAME, hamdeq.pc, and that every examples/*.c program builds
# with only `cc app.c $(pkg-config --cflags --libs hamdeq)` and runs against the
# installed library. Also runs the installed `hamdeq --version`.
# Usage: .ci/install-check.sh [BUILDDIR]   (default: build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
cc=${CC:-cc}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/dest

echo "== meson install --destdir $dest"
meson install -C "$build" --destdir "$dest" >"$work/install.log" || {
    cat "$work/install.log"
    exit 1
}

pc=$(find "$dest" -name hamdeq.pc -print -quit)
[ -n "$pc" ] || { echo "hamdeq.pc was not installed"; exit 1; }
lib=$(find "$dest" -name 'libhamdeq.so.0' -print -quit)
[ -n "$lib" ] || { echo "libhamdeq.so.0 was not installed"; exit 1; }
libdir=$(dirname "$lib")
header=$(find "$dest" -path '*/include/hamdeq/hamdeq.h' -print -quit)
[ -n "$header" ] || { echo "hamdeq/hamdeq.h was not installed"; exit 1; }
tool=$(find "$dest" -path '*/bin/hamdeq' -print -quit)
[ -n "$tool" ] || { echo "bin/hamdeq was not installed"; exit 1; }
[ -e "$libdir/libhamdeq.so" ] || { echo "the libhamdeq.so development link was not installed"; exit 1; }

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libhamdeq.so.0" ] || { echo "SONAME is '$soname', expected libhamdeq.so.0"; exit 1; }
echo "installed: $header, $lib (SONAME $soname), $pc, $tool"

PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
export PKG_CONFIG_SYSROOT_DIR=$dest
cflags=$(pkg-config --cflags hamdeq)
libs=$(pkg-config --libs hamdeq)
echo "pkg-config --cflags --libs hamdeq: $cflags $libs"
case "$cflags $libs" in
*"$root/include"* | *"$root/lib"*) echo "pkg-config points into the source tree"; exit 1 ;;
esac

status=0
for src in "$root"/examples/*.c; do
    name=$(basename "$src" .c)
    # Copied out of the tree, so that only the installed header can be found.
    cp "$src" "$work/$name.c"
    echo "== $cc $name.c \$(pkg-config --cflags --libs hamdeq)"
    # shellcheck disable=SC2086  # the flags are word lists
    "$cc" -std=c11 -Wall -Wextra -Werror $cflags "$work/$name.c" $libs -o "$work/$name"
    loaded=$(LD_LIBRARY_PATH=$libdir ldd "$work/$name" | sed -n 's/.*libhamdeq.so.0 => \([^ ]*\).*/\1/p')
    if [ "$loaded" != "$lib" ]; then
        echo "$name loads libhamdeq from '$loaded', not from $lib"
        status=1
        continue
    fi
    if LD_LIBRARY_PATH=$libdir "$work/$name" >"$work/$name.out" 2>&1; then
        echo "   ran: $(tail -n 1 "$work/$name.out")"
    else
        cat "$work/$name.out"
        echo "$name failed"
        status=1
    fi
done

echo "== installed hamdeq"
LD_LIBRARY_PATH=$libdir "$tool" --version
LD_LIBRARY_PATH=$libdir "$tool" solve --layers 16,8,4 --batch 4 --json >/dev/null

[ "$status" -eq 0 ] && echo "install check passed"
exit "$status"
