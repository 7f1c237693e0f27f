"""Every function exported by lib/hamdeq.map has a Python binding: a call through
``lib.<name>`` in the package (not only a declaration in the cdef). test_zz_calls.py
checks, at the end of a full run, that the tests actually called each one."""

import pathlib
import re

import hamdeq
from test_cdef import map_functions

PKG = pathlib.Path(hamdeq.__file__).resolve().parent


def bound_functions():
    names = set()
    for f in PKG.glob("*.py"):
        if f.name == "_cdef.py":
            continue
        names.update(re.findall(r"\blib\.(ham_\w+)\b", f.read_text()))
    return names


def test_every_exported_function_is_bound(repo):
    missing = sorted(set(map_functions(repo)) - bound_functions())
    assert not missing, "exported functions without a Python binding: %s" % ", ".join(missing)


def test_no_binding_of_an_unexported_function(repo):
    extra = sorted(bound_functions() - set(map_functions(repo)))
    assert not extra, "the binding calls functions that lib/hamdeq.map does not export: %s" % extra


def test_readme_maps_every_function(repo):
    readme = (PKG.parent / "README.md").read_text()
    missing = [f for f in map_functions(repo) if "`%s`" % f not in readme]
    assert not missing, "README.md's API map lacks %s" % missing


def test_public_names_exist():
    for name in hamdeq.__all__:
        assert hasattr(hamdeq, name), name
