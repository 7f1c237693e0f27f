#!/usr/bin/env python3
"""Every public function that returns a status documents it, and truthfully.

For each `HAM_API int ham_*(...)` declared in include/hamdeq/*.h:
  - its Doxygen comment has an @return;
  - every status the function's own body creates in lib/ (the first argument of
    hamp_fail / HAMP_FAIL) is named in that @return, directly or through a function the
    @return refers to ("as ham_model_apply()").
Statuses passed up from helpers are not traced (reviewing them is the audit's job);
this catches the common drift: a new check added to a function, its doc left behind.

  python3 tests/check_doc_returns.py SOURCE_ROOT
"""
import glob
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")

# ---------------------------------------------------------------- declarations and docs
docs = {}  # name -> text of its @return (and what follows it in the comment)
for path in sorted(glob.glob(os.path.join(root, "include", "hamdeq", "*.h"))):
    text = open(path).read()
    for m in re.finditer(r"HAM_API\s+int\s+(ham_\w+)\s*\(", text):
        name = m.group(1)
        before = text[: m.start()].rstrip()
        if not before.endswith("*/"):
            docs[name] = None
            continue
        start = before.rfind("/**")
        comment = before[start:]
        i = comment.find("@return")
        docs[name] = comment[i:] if i >= 0 else None

# ---------------------------------------------------------------- definitions
created = {}  # name -> statuses its body creates
for path in sorted(glob.glob(os.path.join(root, "lib", "**", "*.c"), recursive=True)):
    text = open(path).read()
    for m in re.finditer(r"^HAM_API\s+int\s+(ham_\w+)\s*\(", text, re.M):
        name = m.group(1)
        i = text.index("{", m.end())
        depth, j = 1, i + 1
        while depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        body = text[i:j]
        created[name] = set(re.findall(r"(?:hamp_fail|HAMP_FAIL)\(\s*(HAM_ERR_\w+)", body))


def documented(name, seen=()):
    doc = docs.get(name) or ""
    codes = set(re.findall(r"HAM_ERR_\w+", doc)) | ({"HAM_OK"} if "HAM_OK" in doc else set())
    for ref in re.findall(r"\bas (ham_\w+)\(\)", doc):
        if ref not in seen and ref != name:
            codes |= documented(ref, seen + (name,))
    return codes


problems = []
for name in sorted(docs):
    if docs[name] is None:
        problems.append("%s: no @return in its comment" % name)
        continue
    missing = created.get(name, set()) - documented(name)
    if missing:
        problems.append("%s: returns %s, not in its @return" % (name, ", ".join(sorted(missing))))
undefined = sorted(set(created) - set(docs))
for name in undefined:
    problems.append("%s: defined with HAM_API int but not declared in a public header" % name)

for p in problems:
    print(p)
print("%d public status-returning functions checked, %d problems" % (len(docs), len(problems)))
sys.exit(1 if problems else 0)
