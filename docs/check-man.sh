#!/usr/bin/env bash
# check-man.sh BUILDDIR: checks the hand-written man pages in man/ against the tool and
# the library built in BUILDDIR, so that they cannot drift:
#   1. groff renders each page without a warning (groff -ww), and so does man(1) when
#      it is installed (man --warnings);
#   2. hamdeq.1: every command of 'hamdeq --help' is in COMMANDS, and every command but
#      'help' has its own section; every long option of 'hamdeq CMD --help' (and of
#      'hamdeq bench --perf --help') is an entry of that command's section, and every
#      entry there is an option the command has; the version in the header line is
#      the tool's;
#   3. libhamdeq.3: every exported function (lib/hamdeq.map), status code, solver and
#      trainer option is named, the version is the library's, and the program under
#      EXAMPLES compiles (-Wall -Wextra -Werror) against BUILDDIR and prints what the
#      page says it prints.
# The meson test 'man' (suite docs) and docs/ci.sh run it. Needs groff, a C compiler
# ($CC, default cc); man-db is optional.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 BUILDDIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
man1=$src/man/hamdeq.1
man3=$src/man/libhamdeq.3
tool=$build/tools/hamdeq

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
checks=0
err() {
  echo "check-man: FAIL: $*" >&2
  fail=1
}

# --- 1. rendering ------------------------------------------------------------------
for page in "$man1" "$man3"; do
  name=$(basename "$page")
  checks=$((checks + 1))
  if ! groff -ww -z -t -man "$page" >"$tmp/groff.log" 2>&1 || [ -s "$tmp/groff.log" ]; then
    sed 's/^/  /' "$tmp/groff.log" >&2
    err "$name: groff -ww reports warnings"
  fi
  if command -v man >/dev/null 2>&1; then
    checks=$((checks + 1))
    MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$page" >/dev/null 2>"$tmp/man.log" ||
      echo "man exited with status $?" >>"$tmp/man.log"
    if [ -s "$tmp/man.log" ]; then
      sed 's/^/  /' "$tmp/man.log" >&2
      err "$name: man --warnings reports warnings"
    fi
  fi
done

# The roff source with the escapes that matter here undone: \- is '-', fonts dropped.
plain() {
  sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\&//g' -e 's/\\(aq/'"'"'/g' "$1"
}
plain "$man1" >"$tmp/hamdeq.1.txt"
plain "$man3" >"$tmp/libhamdeq.3.txt"

# Lines of a section of the page: from the line TITLE (exactly) to the next .SH or .SS.
section() {
  awk -v title="$2" '
    $0 == title { on = 1; next }
    on && /^\.S[HS]( |$)/ { exit }
    on { print }' "$1"
}

# Tags of the .TP entries of a section (the line after each .TP): their first
# --option, or their first bold word.
tp_options() {
  awk 'prev == ".TP" && match($0, /--[a-z][a-z0-9-]*/) { print substr($0, RSTART, RLENGTH) }
       { prev = $0 }' | sort -u
}
tp_words() {
  awk 'prev == ".TP" && $1 == ".B" { print $2 } { prev = $0 }' | sort -u
}

# Long options of a help text: the option lines, '  --name ...' or '  -h, --help'.
help_options() {
  grep -oE '^  (-[a-zA-Z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# --- 2. hamdeq.1 against the tool --------------------------------------------------
if [ ! -x "$tool" ]; then
  err "$tool not found: build BUILDDIR first"
else
  "$tool" --help >"$tmp/help"
  awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }' \
    "$tmp/help" | sort -u >"$tmp/commands"
  [ -s "$tmp/commands" ] || err "no commands read from 'hamdeq --help'"
  section "$tmp/hamdeq.1.txt" '.SH COMMANDS' | tp_words >"$tmp/man-commands"
  checks=$((checks + 1))
  if ! diff -u "$tmp/commands" "$tmp/man-commands" >"$tmp/diff"; then
    sed 's/^/  /' "$tmp/diff" >&2
    err "hamdeq.1: the COMMANDS section differs from 'hamdeq --help' (- tool, + page)"
  fi
  for opt in --help --version; do
    grep -q -- "$opt" "$tmp/help" || err "'hamdeq --help' no longer mentions $opt"
    section "$tmp/hamdeq.1.txt" '.SH COMMANDS' | grep -q -- "$opt" ||
      err "hamdeq.1: the general option $opt is not in COMMANDS"
  done

  n_options=0
  while read -r cmd; do
    [ "$cmd" = help ] && continue
    variants=("$cmd")
    [ "$cmd" = bench ] && variants+=("bench --perf")
    for v in "${variants[@]}"; do
      # shellcheck disable=SC2086 # "bench --perf" is two words
      "$tool" $v --help | help_options | grep -vx -- '--help' >"$tmp/opts-tool" || true
      [ -s "$tmp/opts-tool" ] || err "no options read from 'hamdeq $v --help'"
      section "$tmp/hamdeq.1.txt" ".SS \"hamdeq $v\"" >"$tmp/sec"
      if [ ! -s "$tmp/sec" ]; then
        err "hamdeq.1 has no section .SS \"hamdeq $v\""
        continue
      fi
      tp_options <"$tmp/sec" >"$tmp/opts-man"
      checks=$((checks + 1))
      if ! diff -u "$tmp/opts-tool" "$tmp/opts-man" >"$tmp/diff"; then
        sed 's/^/  /' "$tmp/diff" >&2
        err "hamdeq.1: the options of section 'hamdeq $v' differ from" \
          "'hamdeq $v --help' (- tool only, + page only)"
      fi
      n_options=$((n_options + $(wc -l <"$tmp/opts-tool")))
    done
  done <"$tmp/commands"
  # and no section for a command the tool does not have
  grep -oE '^\.SS "hamdeq [a-z]+' "$tmp/hamdeq.1.txt" | sed 's/.*hamdeq //' | sort -u |
    while read -r c; do
      grep -qx -- "$c" "$tmp/commands" || echo "$c"
    done >"$tmp/extra"
  if [ -s "$tmp/extra" ]; then
    err "hamdeq.1 documents commands the tool does not have: $(tr '\n' ' ' <"$tmp/extra")"
  fi

  # hamdeq 0.1.0 (libhamdeq 0.1.0)
  read -r _ tool_version _ lib_version <<<"$("$tool" --version | tr -d '()')"
  checks=$((checks + 1))
  grep -q "^\.TH HAMDEQ 1 .*\"hamdeq $tool_version\"" "$tmp/hamdeq.1.txt" ||
    err "hamdeq.1: the .TH line does not say \"hamdeq $tool_version\""
  grep -q "^\.TH LIBHAMDEQ 3 .*\"libhamdeq $lib_version\"" "$tmp/libhamdeq.3.txt" ||
    err "libhamdeq.3: the .TH line does not say \"libhamdeq $lib_version\""
fi

# --- 3. libhamdeq.3 against the library --------------------------------------------
n_names=0
for f in $(sed -n 's/^[[:space:]]*\(ham_[a-z0-9_]*\);.*/\1/p' "$src/lib/hamdeq.map"); do
  grep -qw -- "$f" "$tmp/libhamdeq.3.txt" || err "libhamdeq.3 does not name the function $f"
  n_names=$((n_names + 1))
done
for e in $(grep -ohE '\bHAM_(ERR|OPT|TRAIN)_[A-Z0-9_]+ = ' "$src"/include/hamdeq/*.h |
  sed 's/ = //' | sort -u); do
  grep -qw -- "$e" "$tmp/libhamdeq.3.txt" || err "libhamdeq.3 does not name $e"
  n_names=$((n_names + 1))
done
checks=$((checks + 1))

# The EXAMPLES program: the .EX block of that section, with the roff escapes undone.
section "$man3" '.SH EXAMPLES' |
  awk '/^\.EX/ { on = 1; next } /^\.EE/ { exit } on' |
  sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\(aq/'"'"'/g' -e 's/\\&//g' >"$tmp/example.c"
checks=$((checks + 1))
lib=$build/lib/libhamdeq.so
if [ ! -s "$tmp/example.c" ]; then
  err "libhamdeq.3: no program under EXAMPLES"
elif [ ! -e "$lib" ]; then
  err "$lib not found: build BUILDDIR first"
else
  # shellcheck disable=SC2086 # CC may be a command with arguments
  if ! ${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$src/include" \
    -I"$build/include/hamdeq" "$tmp/example.c" -o "$tmp/example" \
    -L"$build/lib" -lhamdeq -Wl,-rpath,"$build/lib" 2>"$tmp/cc.log"; then
    sed 's/^/  /' "$tmp/cc.log" >&2
    err "libhamdeq.3: the EXAMPLES program does not compile"
  elif ! "$tmp/example" >"$tmp/example.out" 2>&1; then
    sed 's/^/  /' "$tmp/example.out" >&2
    err "libhamdeq.3: the EXAMPLES program failed"
  else
    # what the page says it prints: the option's error, then the solve's summary
    grep -qx 'tol 2: HAM_ERR_INVALID: option 0: 2 is outside (0, 1)' "$tmp/example.out" ||
      err "libhamdeq.3: the EXAMPLES program did not print the documented error line:" \
        "$(head -1 "$tmp/example.out")"
    grep -qE '^2 of 2 converged, [0-9]+\.[0-9] iterations on average$' "$tmp/example.out" ||
      err "libhamdeq.3: the EXAMPLES program did not converge both samples:" \
        "$(tail -1 "$tmp/example.out")"
    grep -qF 'tol 2: HAM_ERR_INVALID: option 0: 2 is outside (0, 1)' "$man3" ||
      err "libhamdeq.3 no longer quotes the line the example prints"
  fi
fi

if [ "$fail" -ne 0 ]; then
  exit 1
fi
echo "check-man: OK: $checks checks; hamdeq.1 matches the tool's ${n_options:-0} options" \
  "and its commands; libhamdeq.3 names $n_names functions and constants; its example" \
  "runs: $(tail -1 "$tmp/example.out")"
