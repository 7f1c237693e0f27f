#!/usr/bin/env python3
"""The parts of the ABI policy (docs/api.md, "ABI policy") that abidiff does not judge.

    abi/policy.py enums ALL-TYPES.abi > OUT.enums
    abi/policy.py check CURRENT.abi CURRENT.enums [BASELINE.abi BASELINE.enums]
    abi/policy.py trim BASELINE.abi CURRENT.abi OUT.abi
    abi/policy.py statement ROOT

`enums` writes the public enums' values, one `enum enumerator value` a line, from a dump
made with --load-all-types: the functions take enum values as int32_t, so no enum is
reachable from them and the exported-interfaces dump holds none.

`check` reads abidw's XML and the enum table and checks that
  - the dump sees types: ham_solve_stats_t is there with its data members (a library
    built without debug info gives a dump of names only, which would miss a field
    inserted into it);
  - every public struct with a layout starts with `size` (is size-prefixed): the one
    premise under which abi/suppressions.abignore lets such structs grow at the end;
  - the library exports no variables;
  - against the baseline: every public enumerator keeps its value (new ones may be
    added); every baseline symbol is still exported in its own version
    node, and every new symbol is in a node the baseline does not have (a new minor
    release's, HAMDEQ_0.2, ...), never in a released one.
Exits 1 with one line per violation, 0 when there is none.

`trim` writes CURRENT without what size-prefixed structs gained at their end: the data
members at or past the baseline's sizeof, and the larger size. abidiff then compares the
trimmed dump with the baseline: equal means those structs only grew at the end. (A
libabigail suppression with has_data_member_inserted_at = end would be too broad: it
also hides changes of the existing members. A member put into the old tail padding is
not trimmed: an old caller's `size` covers the padding, so the library could not tell
that the caller never set it.)

`statement` checks that CHANGELOG.md, docs/api.md and meson.build state the ABI policy
in the same words: the paragraph that starts with "The SONAME is" (the comment lines in
meson.build), compared without Markdown backticks, comment signs and line breaks.
"""
import sys
import xml.etree.ElementTree as ET


def load(path):
    return ET.parse(path).getroot()


def symbols(root):
    """{name: version} of the defined, exported function symbols."""
    out = {}
    for sym in root.iter("elf-symbol"):
        if sym.get("is-defined") == "yes":
            out[sym.get("name")] = sym.get("version", "")
    return out


def check_dump(root):
    errors = []
    structs = {}
    for decl in root.iter("class-decl"):
        name = decl.get("name", "")
        if not name.startswith("ham_") or decl.get("is-declaration-only") == "yes":
            continue
        members = [var.get("name") for dm in decl.findall("data-member")
                   for var in dm.findall("var-decl")]
        structs[name] = members
        if not members or members[0] != "size":
            errors.append("struct %s has a public layout but does not start with `size` "
                          "(members: %s): public structs must be size-prefixed"
                          % (name, ", ".join(members) or "none"))
    if not structs.get("ham_solve_stats"):
        errors.append("the dump has no layout of struct ham_solve_stats: was the library "
                      "built without debug info (-g)? The check would see names only")
    for sym in root.iter("elf-variable-symbols"):
        names = [s.get("name") for s in sym.findall("elf-symbol")]
        if names:
            errors.append("exported variables: %s (the ABI has functions only)"
                          % ", ".join(names))
    return errors


def enum_table(root):
    """[(enum, enumerator, value)] of the ham_ enums, in declaration order."""
    rows, seen = [], set()
    decls = sorted(root.iter("enum-decl"), key=lambda d: d.get("name", ""))
    for decl in decls:
        name = decl.get("name", "")
        if not name.startswith("ham_") or name in seen:
            continue
        seen.add(name)
        rows += [(name, e.get("name"), int(e.get("value"))) for e in decl.findall("enumerator")]
    return rows


def read_enums(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                enum, enumerator, value = line.split()
                rows.append((enum, enumerator, int(value)))
    return rows


def check_enums(current, baseline):
    errors = []
    cur = {(enum, name): value for enum, name, value in current}
    for enum, name, value in baseline:
        if (enum, name) not in cur:
            errors.append("enumerator %s of enum %s (= %d) is gone: enum values are pinned"
                          % (name, enum, value))
        elif cur[(enum, name)] != value:
            errors.append("enumerator %s of enum %s changed from %d to %d: enum values are "
                          "pinned" % (name, enum, value, cur[(enum, name)]))
    return errors


def check_against(current, baseline):
    errors = []
    cur, base = symbols(current), symbols(baseline)
    released = set(base.values())
    for name, version in sorted(base.items()):
        if name not in cur:
            errors.append("%s@%s was removed" % (name, version))
        elif cur[name] != version:
            errors.append("%s moved from node %s to %s: a symbol never leaves its node"
                          % (name, version, cur[name]))
    for name, version in sorted(cur.items()):
        if name not in base and version in released:
            errors.append("new symbol %s is in node %s, which the baseline already has: "
                          "new symbols go into a new node of lib/hamdeq.map (HAMDEQ_0.2, "
                          "...)" % (name, version))
    return errors


def trim(baseline, current):
    """Drops from `current` (in place) the members that ham_ structs gained past their
    baseline size; returns the names of the structs trimmed."""
    old_size = {}
    for decl in baseline.iter("class-decl"):
        if decl.get("is-declaration-only") != "yes" and decl.get("size-in-bits"):
            old_size[decl.get("name")] = int(decl.get("size-in-bits"))
    trimmed = []
    for decl in current.iter("class-decl"):
        name = decl.get("name", "")
        if (not name.startswith("ham_") or name not in old_size
                or decl.get("is-declaration-only") == "yes"
                or int(decl.get("size-in-bits", "0")) <= old_size[name]):
            continue
        for dm in decl.findall("data-member"):
            if int(dm.get("layout-offset-in-bits", "0")) >= old_size[name]:
                decl.remove(dm)
        decl.set("size-in-bits", str(old_size[name]))
        trimmed.append(name)
    return trimmed


POLICY_START = "The SONAME is"


def policy_statement(path):
    """The policy paragraph of a Markdown file or of meson.build's comment, normalised."""
    lines, inside = [], False
    with open(path) as f:
        for line in f:
            if path.endswith("meson.build"):
                if not line.startswith("#"):
                    if inside:
                        break
                    continue
                line = line[1:]
            text = line.strip()
            if not inside and text.startswith(POLICY_START):
                inside = True
            if inside:
                if not text:
                    break
                lines.append(text)
    return " ".join(" ".join(lines).replace("`", "").split())


def check_statement(root):
    texts = {name: policy_statement(root + "/" + name)
             for name in ("CHANGELOG.md", "docs/api.md", "meson.build")}
    errors = ["%s does not state the ABI policy (a paragraph starting with %r)"
              % (name, POLICY_START) for name, text in texts.items() if not text]
    if not errors and len(set(texts.values())) != 1:
        errors.append("CHANGELOG.md, docs/api.md and meson.build state the ABI policy in "
                      "different words:\n" + "\n".join("  %s: %s" % kv for kv in texts.items()))
    return errors


def main(argv):
    if len(argv) == 3 and argv[1] == "enums":
        print("# enum enumerator value: the public enums of libhamdeq (abi/policy.py enums)")
        for row in enum_table(load(argv[2])):
            print("%s %s %d" % row)
        return 0
    if len(argv) in (4, 6) and argv[1] == "check":
        current, enums = load(argv[2]), read_enums(argv[3])
        errors = check_dump(current)
        has_enums = any(enum == "ham_status" for enum, _, _ in enums)
        if not has_enums:
            errors.append("the enum table has no ham_status: was the library built with "
                          "debug info and -fno-eliminate-unused-debug-types?")
        if len(argv) == 6:
            errors += check_against(current, load(argv[4]))
            if has_enums:
                errors += check_enums(enums, read_enums(argv[5]))
        for line in errors:
            print("ABI policy: " + line)
        return 1 if errors else 0
    if len(argv) == 5 and argv[1] == "trim":
        tree = ET.parse(argv[3])
        for name in trim(load(argv[2]), tree.getroot()):
            print("struct %s grew: its new tail is left out of the second comparison" % name)
        tree.write(argv[4], encoding="unicode")
        return 0
    if len(argv) == 3 and argv[1] == "statement":
        errors = check_statement(argv[2])
        for line in errors:
            print("ABI policy: " + line)
        return 1 if errors else 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
