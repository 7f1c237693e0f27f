#!/usr/bin/env python3
"""Every negative status libhamdeq creates goes through hamp_fail() or HAMP_FAIL(), which
set ham_last_error(): a line of lib/ that names a HAM_ERR_ code must be a comparison, a
case label, or part of such a call. (TU_RC in the test suite checks the other half: that
each failing call leaves a message of its own.)

    check_error_paths.py SOURCE_ROOT
"""
import pathlib
import re
import sys

ALLOWED = re.compile(r"(==|!=)\s*HAM_ERR_|case HAM_ERR_|hamp_fail\(|HAMP_FAIL\(")


def main(root):
    errors = []
    for path in sorted((root / "lib").rglob("*.c")):
        prev = ""
        for no, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("//")[0]
            if code.lstrip().startswith(("/*", "*")):
                continue
            if "HAM_ERR_" in code and not ALLOWED.search(code) \
                    and not prev.rstrip().endswith(("hamp_fail(", "HAMP_FAIL(")):
                errors.append("%s:%d: a status without a message: %s"
                              % (path.relative_to(root), no, line.strip()))
            prev = code
    for e in errors:
        print(e)
    print("%d statuses created without hamp_fail" % len(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
