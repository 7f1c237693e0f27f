#!/usr/bin/env python3
"""docs/results.md agrees with scripts/reproduce-table1.sh (issue 14): the page states the
script's invocation (the variables set, the argument), and each data set's command is
the one the script runs for that invocation (its defaults for what is not set: the tool
build/tools/hamdeq, the data directories, the epochs), with the epoch count of the
section's heading.

    check_results_page.py SOURCE_ROOT
"""
import pathlib
import re
import sys


def main(root):
    script = (root / "scripts" / "reproduce-table1.sh").read_text()
    page = (root / "docs" / "results.md").read_text()
    bad = []
    # the invocation the page states: VAR=value ... scripts/reproduce-table1.sh [DIR]
    m = re.search(r"```sh\n((?:[A-Z_]+=\S+ )*)scripts/reproduce-table1\.sh(?: (\S+))?\n```", page)
    if not m:
        print("docs/results.md: no ```sh block with the invocation of scripts/reproduce-table1.sh")
        return 1
    env = dict(a.split("=", 1) for a in m.group(1).split())
    value = lambda var: env.get(var) or re.search(r"\$\{%s:-([^}]*)\}" % var, script).group(1)
    outdir = str(pathlib.PurePosixPath(env.get("OUT", "docs/results.md")).parent)
    threads = " --threads %s" % env["THREADS"] if env.get("THREADS") else ""
    want = {
        "MNIST-10k": (m.group(2) or "../shared/data/mnist10k", value("MNIST_EPOCHS"), "mnist10k"),
        "Fashion-MNIST": (value("FASHION_DIR"), value("FASHION_EPOCHS"), "fashion"),
    }
    for name, (data, epochs, plot) in want.items():
        sec = re.search(r"^## %s \(.*?, (\d+) epochs?\)\n+```sh\n(.*?)\n```" % re.escape(name),
                        page, re.M)
        if not sec:
            bad.append("no '## %s (..., N epochs)' section with its command" % name)
            continue
        cmd = "%s bench --data %s --epochs %s%s --markdown --plot %s/results-%s.svg" % (
            value("HAMDEQ"), data, epochs, threads, outdir, plot)
        if sec.group(2) != cmd:
            bad.append("%s: the page shows\n    %s\n  the invocation it states runs\n    %s"
                       % (name, sec.group(2), cmd))
        if sec.group(1) != epochs:
            bad.append("%s: the heading says %s epochs, the invocation runs %s"
                       % (name, sec.group(1), epochs))
    for b in bad:
        print("docs/results.md: " + b)
    print("docs/results.md against scripts/reproduce-table1.sh: %d problems" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
