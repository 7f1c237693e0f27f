#!/usr/bin/env python3
"""Every function libhamdeq exports (lib/hamdeq.map) is named in at least one page of
README.md or docs/, or in an example, so no part of the API is undocumented outside the
headers (issue 14).

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
    return 1 if missing or not names else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
