#!/usr/bin/env python3
"""Every ```c block of README.md and docs/*.md compiles as shown (issue 14).

    check_snippets.py SOURCE_ROOT BUILD_INCLUDE_DIR CC

A block with `int main` is compiled as it is; any other is put in the body of a
`main`, its #include lines moved above it. A line `...` stands for elided code and is
dropped. Variables a fragment uses from its surroundings are declared by an HTML comment
right above the block: <!-- snippet-context: ham_model_t *model = NULL; -->.
Blocks that are sketches, not C, are fenced as ```text instead.
"""
import pathlib
import re
import subprocess
import sys
import tempfile

BLOCK = re.compile(r"(?:<!--\s*snippet-context:(.*?)-->\s*\n)?```c\n(.*?)```", re.S)


def program(context, code):
    lines = [l for l in code.splitlines() if l.strip() != "..."]
    if any(re.search(r"\bint\s+main\s*\(", l) for l in lines):
        return "\n".join(lines) + "\n"
    includes = [l for l in lines if l.startswith("#include")]
    body = [l for l in lines if not l.startswith("#include")]
    head = ["#include <stdlib.h>", "#include <hamdeq/hamdeq.h>"] + includes
    return "\n".join(head + ["int main(void)", "{", context or ""] + body +
                     ["    return 0;", "}"]) + "\n"


def main(root, build_include, cc):
    files = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    failures = count = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            text = path.read_text()
            for m in BLOCK.finditer(text):
                count += 1
                line = text.count("\n", 0, m.start(2))
                src = pathlib.Path(tmp) / ("snippet%d.c" % count)
                src.write_text(program(m.group(1), m.group(2)))
                cmd = [cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused",
                       "-Wno-unused-parameter", "-I", str(root / "include"),
                       "-I", build_include, "-I", build_include + "/hamdeq",
                       "-fsyntax-only", str(src)]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    failures += 1
                    print("%s:%d: the C snippet does not compile:\n%s"
                          % (path.relative_to(root), line, r.stderr))
    print("%d C snippets, %d failing" % (count, failures))
    return 1 if failures or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]))
