#!/usr/bin/env bash
# Checks of the C++ layer include/hamdeq/hamdeq.hpp against the library in BUILDDIR
# (beyond `meson test --suite cpp`, which builds and runs tests/hamdeq_hpp.cpp).
#
#     bindings/cpp/ci.sh BUILDDIR          (from the repository root)
#
# 1. every function of lib/hamdeq.map is used (called or passed) by hamdeq.hpp's code;
# 2. hamdeq.hpp compiles on its own with -std=c++11, c++14, c++17 and c++20 -Wall -Wextra -pedantic
#    -Werror -Wshadow -Wconversion, with g++ and, when installed, clang++;
# 3. tests/hamdeq_hpp.cpp, built with each compiler as C++11 and C++17 against BUILDDIR's
#    library, passes;
# 4. examples/retrieve.cpp prints exactly what examples/retrieve.c prints, and
#    examples/embed.cpp recalls every code (both as built by meson in BUILDDIR);
# 5. the quick start of bindings/cpp/README.md compiles (strict warnings) and runs.
# Installs nothing.
set -euo pipefail

builddir=${1:?usage: bindings/cpp/ci.sh BUILDDIR}
[ -d "$builddir" ] || { echo "cpp ci: no build directory $builddir" >&2; exit 2; }
libdir=$(cd "$builddir/lib" && pwd)
hpp=include/hamdeq/hamdeq.hpp
flags=(-Wall -Wextra -pedantic -Werror -Wshadow -Wconversion -Iinclude -I"$builddir/include/hamdeq")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
results=()
failed=0

pass() { results+=("PASS  $1"); }
fail() { results+=("FAIL  $1"); failed=1; }

echo "== cpp: every exported function is wrapped"
# Uses in code only (a call or &function): the header without its comments.
g++ -x c++ -fpreprocessed -dD -E -P "$hpp" > "$tmp/code.hpp"
missing=$(sed -n 's/^[[:space:]]*\(ham_[a-z0-9_]*\);$/\1/p' lib/hamdeq.map |
          while read -r f; do grep -qw "$f" "$tmp/code.hpp" || echo "$f"; done)
n=$(grep -c '^[[:space:]]*ham_[a-z0-9_]*;$' lib/hamdeq.map)
if [ -z "$missing" ]; then
    pass "hamdeq.hpp uses all $n exported functions"
else
    echo "not called by $hpp:" $missing
    fail "hamdeq.hpp misses: $(echo $missing | tr '\n' ' ')"
fi

compilers=(g++)
command -v clang++ >/dev/null 2>&1 && compilers+=(clang++)
for cxx in "${compilers[@]}"; do
    for std in c++11 c++14 c++17 c++20; do
        echo "== cpp: $cxx -std=$std: header alone"
        printf '#include <hamdeq/hamdeq.hpp>\nint main() { return hamdeq::version() > 0 ? 0 : 1; }\n' \
            > "$tmp/alone.cpp"
        if "$cxx" -std=$std "${flags[@]}" "$tmp/alone.cpp" -L"$libdir" -lhamdeq \
               -Wl,-rpath,"$libdir" -o "$tmp/alone" && "$tmp/alone"; then
            pass "$cxx -std=$std: hamdeq.hpp compiles alone, strict warnings"
        else
            fail "$cxx -std=$std: hamdeq.hpp alone"
        fi
    done
    for std in c++11 c++17; do
        echo "== cpp: $cxx -std=$std: tests/hamdeq_hpp.cpp"
        if "$cxx" -std=$std "${flags[@]}" tests/hamdeq_hpp.cpp -L"$libdir" -lhamdeq \
               -Wl,-rpath,"$libdir" -o "$tmp/hpp_$cxx" &&
           out=$(OPENBLAS_NUM_THREADS=1 "$tmp/hpp_$cxx") && echo "$out"; then
            pass "$cxx -std=$std: $out"
        else
            fail "$cxx -std=$std: tests/hamdeq_hpp.cpp"
        fi
    done
done

echo "== cpp: examples"
ex="$builddir/examples"
if [ -x "$ex/example-retrieve" ] && [ -x "$ex/example-retrieve-cpp" ] &&
   "$ex/example-retrieve" > "$tmp/retrieve-c.txt" &&
   "$ex/example-retrieve-cpp" > "$tmp/retrieve-cpp.txt" &&
   diff "$tmp/retrieve-c.txt" "$tmp/retrieve-cpp.txt"; then
    tail -1 "$tmp/retrieve-cpp.txt"
    pass "retrieve.cpp prints exactly what retrieve.c prints"
else
    fail "retrieve.cpp output differs from retrieve.c (or an example is not built)"
fi
if [ -x "$ex/example-embed-cpp" ] && "$ex/example-embed-cpp" > "$tmp/embed.txt"; then
    grep 'recalled their code' "$tmp/embed.txt"
    pass "embed.cpp: $(grep 'recalled their code' "$tmp/embed.txt")"
else
    cat "$tmp/embed.txt" 2>/dev/null || true
    fail "embed.cpp"
fi

echo "== cpp: README quick start"
sed -n '/^```cpp$/,/^```$/p' bindings/cpp/README.md | sed '1d;$d' > "$tmp/quick.cpp"
if [ -s "$tmp/quick.cpp" ] &&
   g++ -std=c++11 -Wall -Wextra -pedantic -Werror -Iinclude -I"$builddir/include/hamdeq" \
       "$tmp/quick.cpp" -L"$libdir" -lhamdeq -Wl,-rpath,"$libdir" -o "$tmp/quick" &&
   quick=$("$tmp/quick"); then
    echo "$quick"
    pass "README quick start: $quick"
else
    fail "README quick start"
fi

echo "== cpp: summary ($((SECONDS - start)) s)"
printf '  %s\n' "${results[@]}"
exit $failed
