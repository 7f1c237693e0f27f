#!/usr/bin/env bash
# Installs a configured build into a temporary DESTDIR and checks what a user gets:
#   - the headers, libhamdeq.so.0 (its SONAME) with the libhamdeq.so link, libhamdeq.a,
#     hamdeq.pc, the CMake package, the hamdeq tool;
#   - pkg-config, with PKG_CONFIG_LIBDIR naming only the installed .pc directory (so no
#     other .pc file can be read): every examples/*.c program builds with only
#     `cc app.c $(pkg-config --cflags --libs hamdeq) -lm` (-lm: some use <math.h>), and
#     every examples/*.cpp one with `c++ -std=c++11 app.cpp $(pkg-config ...)`; each
#     includes no header of OpenBLAS, LAPACKE or zlib, needs libhamdeq.so.0 and runs
#     against the installed library; and each links libhamdeq.a with
#     `pkg-config --static --libs hamdeq`, needs no libhamdeq.so, and runs;
#   - CMake (when cmake is installed): a consumer with find_package(hamdeq CONFIG
#     REQUIRED) builds every example against hamdeq::hamdeq and hamdeq::hamdeq_static
#     and runs them.
# Usage: .ci/install-check.sh [BUILDDIR]   (default: build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
cc=${CC:-cc}
cxx=${CXX:-c++}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/dest

fail() {
    echo "install check: $*" >&2
    exit 1
}
# The one installed file whose path matches the pattern (find -path).
installed() {
    local found
    found=$(find "$dest" -path "$1" -print -quit)
    [ -n "$found" ] || fail "nothing matching $1 was installed"
    printf '%s\n' "$found"
}

echo "== meson install --destdir $dest"
meson install -C "$build" --destdir "$dest" >"$work/install.log" || {
    cat "$work/install.log"
    exit 1
}

pc=$(installed '*/pkgconfig/hamdeq.pc')
lib=$(installed '*/libhamdeq.so.0')
libdir=$(dirname "$lib")
archive=$(installed '*/libhamdeq.a')
header=$(installed '*/include/hamdeq/hamdeq.h')
tool=$(installed '*/bin/hamdeq')
cmake_config=$(installed '*/cmake/hamdeq/hamdeqConfig.cmake')
installed '*/cmake/hamdeq/hamdeqConfigVersion.cmake' >/dev/null
[ -e "$libdir/libhamdeq.so" ] || fail "the libhamdeq.so development link was not installed"
[ "$(dirname "$archive")" = "$libdir" ] || fail "libhamdeq.a is not next to libhamdeq.so.0"
[ "$(dirname "$(dirname "$(dirname "$cmake_config")")")" = "$libdir" ] ||
    fail "hamdeqConfig.cmake is not in LIBDIR/cmake/hamdeq"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libhamdeq.so.0" ] || fail "SONAME is '$soname', expected libhamdeq.so.0"
ar t "$archive" | grep -q 'solver_driver\.c\.o$' || fail "libhamdeq.a lacks the solver's objects"
echo "installed: $header, $lib (SONAME $soname), $archive, $pc, $cmake_config, $tool"

# Neither the source tree nor the build tree may leak into what is installed.
if grep -l -e "$root/" -e "$dest" "$pc" "$cmake_config" "$(dirname "$cmake_config")"/*.cmake; then
    fail "an installed .pc or .cmake file names the source, build or DESTDIR tree"
fi

# ---- pkg-config: only the installed hamdeq.pc, the prefix moved into the DESTDIR.
export PKG_CONFIG_LIBDIR
PKG_CONFIG_LIBDIR=$(dirname "$pc")
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
pkg-config --exists --print-errors hamdeq ||
    fail "pkg-config cannot use hamdeq.pc without other .pc files: it must require none"
prefix=$(pkg-config --variable=prefix hamdeq)
pc_hamdeq() { pkg-config --define-variable=prefix="$dest$prefix" "$@" hamdeq | sed 's/ *$//'; }

[ -z "$(pkg-config --print-requires-private hamdeq)" ] ||
    fail "hamdeq.pc has Requires.private: $(pkg-config --print-requires-private hamdeq)"
cflags=$(pc_hamdeq --cflags)
libs=$(pc_hamdeq --libs)
static_libs=$(pc_hamdeq --static --libs)
echo "pkg-config --cflags --libs hamdeq: $cflags $libs"
echo "pkg-config --static --libs hamdeq: $static_libs"
[ "$cflags" = "-I$dest$prefix/include" ] || fail "--cflags is not just the installed include dir"
[ "$libs" = "-L$libdir -lhamdeq" ] || fail "--libs is not just -L$libdir -lhamdeq"
case " $static_libs " in *" -lhamdeq "*" -lopenblas "*) ;; *)
    fail "--static --libs lacks -lhamdeq followed by the libraries it needs" ;;
esac

# An example, copied out of the tree so that only the installed headers can be found,
# built as C11 or C++11 with the given link flags: build_example SRC OUT LINK-FLAGS...
build_example() {
    local src=$1 out=$2
    shift 2
    cp "$src" "$work/$(basename "$src")"
    # shellcheck disable=SC2086  # the flags are word lists
    case $src in
    *.cpp) "$cxx" -std=c++11 -Wall -Wextra -Werror $cflags -MD -MF "$out.d" \
        "$work/$(basename "$src")" "$@" -o "$out" ;;
    *) "$cc" -std=c11 -Wall -Wextra -Werror $cflags -MD -MF "$out.d" \
        "$work/$(basename "$src")" "$@" -lm -o "$out" ;;
    esac
}
# Runs a built example: run_example NAME EXE; its last line is shown.
run_example() {
    if LD_LIBRARY_PATH=$libdir "$2" >"$2.out" 2>&1; then
        echo "   ran: $(tail -n 1 "$2.out")"
    else
        cat "$2.out"
        echo "$1 failed"
        status=1
    fi
}

status=0
# Static: -l:libhamdeq.a picks the archive although libhamdeq.so lies next to it (as
# -Wl,-Bstatic -lhamdeq would); the other flags are pkg-config's, as they are.
static_link=" $static_libs "
static_link=${static_link/ -lhamdeq / -l:libhamdeq.a }
for src in "$root"/examples/*.c "$root"/examples/*.cpp; do
    case $src in *.cpp) name=$(basename "$src" .cpp)-cpp ;; *) name=$(basename "$src" .c) ;; esac
    echo "== $name: \$(pkg-config --cflags --libs hamdeq)"
    # shellcheck disable=SC2086  # the flags are word lists
    build_example "$src" "$work/$name" $libs || { echo "$name did not build"; status=1; continue; }
    if grep -i -E 'openblas|cblas|lapack|zlib' "$work/$name.d"; then
        echo "$name includes a header of libhamdeq's dependencies"
        status=1
    fi
    needed=$(readelf -d "$work/$name" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    case " $needed " in *" libhamdeq.so.0 "*) ;; *)
        echo "$name does not need libhamdeq.so.0 (NEEDED: $needed)"
        status=1 ;;
    esac
    loaded=$(LD_LIBRARY_PATH=$libdir ldd "$work/$name" | sed -n 's/.*libhamdeq.so.0 => \([^ ]*\).*/\1/p')
    if [ "$loaded" != "$lib" ]; then
        echo "$name loads libhamdeq from '$loaded', not from $lib"
        status=1
        continue
    fi
    run_example "$name" "$work/$name"

    echo "== $name: \$(pkg-config --static --libs hamdeq), libhamdeq.a"
    # shellcheck disable=SC2086  # the flags are word lists
    build_example "$src" "$work/$name-static" $static_link ||
        { echo "$name did not build with libhamdeq.a"; status=1; continue; }
    if readelf -d "$work/$name-static" | grep -F 'libhamdeq.so'; then
        echo "$name-static needs libhamdeq.so although it was linked with libhamdeq.a"
        status=1
    else
        # No LD_LIBRARY_PATH needed, and none given: nothing may load libhamdeq.so.
        libdir=/nonexistent run_example "$name-static" "$work/$name-static"
    fi
done

# ---- CMake: find_package against the DESTDIR tree, which the config file finds from
# its own location.
if command -v cmake >/dev/null; then
    app=$work/cmake-app
    mkdir -p "$app"
    cp "$root"/examples/*.c "$root"/examples/*.cpp "$app/"
    cat >"$app/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(hamdeq_consumer C CXX)
set(CMAKE_CXX_STANDARD 11)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(HAMDEQ_WANT "0.1" CACHE STRING "the version find_package asks for")
find_package(hamdeq ${HAMDEQ_WANT} CONFIG REQUIRED)
# Every example twice: against the shared library and against the static one.
file(GLOB sources ${CMAKE_SOURCE_DIR}/*.c ${CMAKE_SOURCE_DIR}/*.cpp)
foreach(src ${sources})
  get_filename_component(name ${src} NAME_WE)
  get_filename_component(ext ${src} EXT)
  if(ext STREQUAL ".cpp")
    set(name ${name}-cpp)
  endif()
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE hamdeq::hamdeq)
  add_executable(${name}_static ${src})
  target_link_libraries(${name}_static PRIVATE hamdeq::hamdeq_static)
  if(ext STREQUAL ".c")
    target_link_libraries(${name} PRIVATE m)
    target_link_libraries(${name}_static PRIVATE m)
  endif()
endforeach()
EOF
    echo "== cmake: find_package(hamdeq 0.1 CONFIG REQUIRED), hamdeq::hamdeq, hamdeq::hamdeq_static"
    if ! cmake -S "$app" -B "$app/build" -DCMAKE_PREFIX_PATH="$dest$prefix" \
            -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
            -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 ||
        ! cmake --build "$app/build" >>"$work/cmake.log" 2>&1; then
        cat "$work/cmake.log"
        fail "the CMake consumer did not build"
    fi
    for src in "$root"/examples/*.c "$root"/examples/*.cpp; do
        case $src in *.cpp) name=$(basename "$src" .cpp)-cpp ;; *) name=$(basename "$src" .c) ;; esac
        loaded=$(LD_LIBRARY_PATH=$libdir ldd "$app/build/$name" | sed -n 's/.*libhamdeq.so.0 => \([^ ]*\).*/\1/p')
        [ "$loaded" = "$lib" ] || fail "the CMake consumer $name loads libhamdeq from '$loaded', not $lib"
        ! readelf -d "$app/build/${name}_static" | grep -F 'libhamdeq.so' ||
            fail "the CMake consumer ${name}_static (hamdeq::hamdeq_static) needs libhamdeq.so"
        for exe in "$name" "${name}_static"; do
            echo "== cmake: $exe"
            run_example "the CMake consumer $exe" "$app/build/$exe"
        done
    done
    # hamdeqConfigVersion.cmake: any 0.x up to this version, nothing newer, no 1.x.
    for want in 0.99 1.0; do
        if cmake -S "$app" -B "$app/build-$want" -DCMAKE_PREFIX_PATH="$dest$prefix" \
                -DHAMDEQ_WANT="$want" >"$work/cmake-$want.log" 2>&1; then
            fail "find_package(hamdeq $want) accepted version $(pkg-config --modversion hamdeq)"
        fi
        grep -q 'that is compatible' "$work/cmake-$want.log" ||
            { cat "$work/cmake-$want.log"; fail "find_package(hamdeq $want) failed for another reason"; }
    done
    echo "   find_package(hamdeq 0.99) and (hamdeq 1.0) rejected"
else
    echo "== cmake is not installed: CMake package not checked"
fi

echo "== installed hamdeq"
LD_LIBRARY_PATH=$libdir "$tool" --version
LD_LIBRARY_PATH=$libdir "$tool" solve --layers 16,8,4 --batch 4 --json >/dev/null

[ "$status" -eq 0 ] && echo "install check passed"
exit "$status"
