#!/usr/bin/env python3
"""The layering of lib/: a file may include private headers of its own layer and of the
layers below it only (docs/architecture.md), and tools/ includes no file of lib/.

    check_layers.py SOURCE_ROOT

Exits 1 and names each offending include. Reads every #include "..." line of lib/ and
tools/; system and public headers (<...>, "hamdeq/...") are always allowed.
"""
import pathlib
import re
import sys

BELOW = {
    "common": {"common"},
    "core": {"common", "core"},
    "operator": {"common", "core", "operator"},
    "solver": {"common", "core", "operator", "solver"},
    "train": {"common", "core", "operator", "solver", "train"},
    # mhn uses the solver as any program does, through the public API (issue 8)
    "mhn": {"common", "core", "operator", "mhn"},
    "io": {"common", "core", "io"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main(root):
    lib = root / "lib"
    errors = []
    layers = sorted(p.name for p in lib.iterdir() if p.is_dir())
    if set(layers) != set(BELOW):
        errors.append("lib/ has folders %s, the rule knows %s" % (layers, sorted(BELOW)))
    for path in sorted(lib.rglob("*.[ch]")):
        rel = path.relative_to(lib)
        if len(rel.parts) < 2:
            errors.append("lib/%s: every source file belongs to a layer folder" % rel)
            continue
        layer = rel.parts[0]
        for inc in INCLUDE.findall(path.read_text()):
            target = inc.split("/")[0]
            if inc.startswith("hamdeq/"):
                continue
            if "/" not in inc or target not in BELOW:
                errors.append("lib/%s: include \"%s\" is not layer-qualified" % (rel, inc))
            elif target not in BELOW.get(layer, set()):
                errors.append("lib/%s (layer %s) includes \"%s\" of layer %s, which it may "
                              "not use" % (rel, layer, inc, target))
    for path in sorted((root / "tools").glob("*.[ch]")):
        for inc in INCLUDE.findall(path.read_text()):
            if inc.split("/")[0] in BELOW or inc.endswith("_private.h") or inc == "fastmath.h":
                errors.append("tools/%s includes \"%s\": tools use the public headers only"
                              % (path.name, inc))
    for e in errors:
        print(e)
    print("%d layering violations" % len(errors))
    return 1 if errors else 0


def self_test():
    """The rule must catch an upward include and a tool reaching into lib/."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for layer in BELOW:
            (root / "lib" / layer).mkdir(parents=True)
        (root / "tools").mkdir()
        good = root / "lib" / "solver" / "a.c"
        good.write_text('#include "operator/operator_private.h"\n')
        if main(root) != 0:
            return 1
        (root / "lib" / "core" / "b.c").write_text('#include "train/train_private.h"\n')
        if main(root) != 1:
            return 1
        (root / "lib" / "core" / "b.c").unlink()
        (root / "lib" / "io" / "c.c").write_text('#include "solver/solver_private.h"\n')
        if main(root) != 1:
            return 1
        (root / "lib" / "io" / "c.c").unlink()
        (root / "tools" / "t.c").write_text('#include "common/fastmath.h"\n')
        if main(root) != 1:
            return 1
    print("self-test passed")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--self-test":
        sys.exit(self_test())
    sys.exit(main(pathlib.Path(sys.argv[1])))
