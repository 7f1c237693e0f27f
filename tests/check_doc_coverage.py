#!/usr/bin/env python3
"""Every function libhamdeq exports (lib/hamdeq.map) is named in at least one page of
README.md or docs/, or in an example, so no part of the API is undocumented outside the
headers; and docs/api.md's table of status codes lists every ham_status_t of common.h
with its value, a typical cause and what to do (issue 14).

    check_doc_coverage.py SOURCE_ROOT
"""
import pathlib
import re
import sys


def main(root):
    names = re.findall(r"\b(ham_[a-z0-9_]+);", (root / "lib" / "hamdeq.map").read_text())
    pages = [root / "README.md"] + sorted((root / "docs").glob("*.md")) + \
        sorted(p for p in (root / "examples").iterdir() if p.suffix in (".c", ".cpp"))
    text = "\n".join(p.read_text() for p in pages)
    missing = [n for n in names if not re.search(r"\b%s\b" % n, text)]
    for n in missing:
        print("%s is exported but named in no page or example" % n)
    print("%d exported functions, %d undocumented" % (len(names), len(missing)))
    bad = check_status_table(root)
    return 1 if missing or not names or bad else 0


def check_status_table(root):
    """Failures of docs/api.md's status table against common.h's enum, printed."""
    header = (root / "include" / "hamdeq" / "common.h").read_text()
    enum = re.search(r"typedef enum ham_status \{(.*?)\}", header, re.S)
    codes = dict((n, int(v)) for n, v in
                 re.findall(r"\b(HAM_(?:OK|ERR_[A-Z_]+))\s*=\s*(-?\d+)", enum.group(1)))
    rows = {}
    for line in (root / "docs" / "api.md").read_text().splitlines():
        m = re.match(r"\|\s*(-?\d+)\s*\|\s*`(HAM_(?:OK|ERR_[A-Z_]+))`\s*\|(.*)\|\s*$", line)
        if m:
            rows[m.group(2)] = (int(m.group(1)), [c.strip() for c in m.group(3).split("|")])
    bad = 0
    for name, value in sorted(codes.items(), key=lambda kv: -kv[1]):
        if name not in rows:
            print("docs/api.md: the status table lacks %s (%d)" % (name, value))
            bad += 1
            continue
        shown, cells = rows[name]
        if shown != value:
            print("docs/api.md: %s is %d in common.h, %d in the table" % (name, value, shown))
            bad += 1
        # meaning, typical cause, what to do: all three filled in for every error code
        if len(cells) != 3 or (value != 0 and not all(cells)):
            print("docs/api.md: %s's row needs a meaning, a typical cause and a remedy" % name)
            bad += 1
    for name in rows:
        if name not in codes:
            print("docs/api.md: the status table lists %s, which common.h does not have" % name)
            bad += 1
    print("%d status codes, %d table problems" % (len(codes), bad))
    return bad if codes else 1


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
